"""Let mmsegmentation import on mmcv-lite, which ships mmcv's Python code without its compiled ops.

mmseg imports ``mmcv.ops`` at import time, and every ``mmcv.ops`` module loads ``mmcv._ext`` (the compiled
extension) on import, although the models this project runs on CPU (FCN, DeepLabV3, PSPNet, UNet,
SegFormer-style heads) never call a compiled op. The full mmcv has no wheel for this torch and takes a
patched ~10 min source build (DESIGN.md §7), so instead a stand-in ``mmcv._ext`` is registered: it has every
attribute ``mmcv.ops`` asks for, and each one raises a clear ``NotImplementedError`` only when called.

When a real mmcv with compiled ops is installed, :func:`install_mmcv_shim` does nothing.
"""
import importlib.machinery
import importlib.util
import sys
import types

EXT_NAME = 'mmcv._ext'


class MissingCompiledOp:
    """A compiled mmcv op that mmcv-lite lacks: importable, fails only when called."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"mmcv op '{self.name}' needs mmcv's compiled extensions, which mmcv-lite does not have: choose a "
            'model without this op (FCN, DeepLabV3, PSPNet, UNet, SegFormer run without them) or install the '
            'full mmcv (pip install "mmcv>=2.0.0rc4,<2.2.0" builds it from source)')

    def __repr__(self) -> str:
        return f'<mmcv-lite stand-in for the compiled op {self.name!r}>'


class StandInExtension(types.ModuleType):
    """The stand-in ``mmcv._ext``: any public attribute is a :class:`MissingCompiledOp`."""

    def __getattr__(self, name: str) -> MissingCompiledOp:
        if name.startswith('__'):
            raise AttributeError(name)
        return MissingCompiledOp(name)


def compiled_ops_available() -> bool:
    """True if a real ``mmcv._ext`` can be imported (the full mmcv), False with mmcv-lite or no mmcv."""
    if isinstance(sys.modules.get(EXT_NAME), StandInExtension):
        return False
    if importlib.util.find_spec('mmcv') is None:
        return False
    return importlib.util.find_spec(EXT_NAME) is not None


def install_mmcv_shim() -> bool:
    """Register the stand-in ``mmcv._ext`` unless real compiled ops (or no mmcv) are installed.

    Returns True if the stand-in is (now or already) in place. Call it before the first ``import mmseg``.
    """
    if isinstance(sys.modules.get(EXT_NAME), StandInExtension):
        return True
    if EXT_NAME in sys.modules or importlib.util.find_spec('mmcv') is None or compiled_ops_available():
        return False
    module = StandInExtension(EXT_NAME, __doc__)
    # A spec without a loader: mmcv's own check_ops_exist() then reports, truthfully, that no ops exist.
    module.__spec__ = importlib.machinery.ModuleSpec(EXT_NAME, loader=None)
    sys.modules[EXT_NAME] = module
    return True
