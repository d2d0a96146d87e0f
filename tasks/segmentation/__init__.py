"""Semantic segmentation on mmsegmentation (SPEC.md §5.3): mmseg's models, data and IoUMetric as they are."""
import importlib.util
import warnings

if importlib.util.find_spec('mmseg') is None:
    raise ImportError("the segmentation task needs mmsegmentation, which is not installed: pip install "
                      "'mmsegmentation>=1.2,<1.3' 'mmcv-lite>=2.0,<2.2' ftfy regex (or make install)")

from tasks.mmcv_shim import install_mmcv_shim  # noqa: E402

# mmseg's CrossEntropyLoss warns about its own API and defaults on every model built: nothing a user can act on
warnings.filterwarnings('ignore', message='``build_loss`` would be deprecated soon', category=UserWarning)
warnings.filterwarnings('ignore', message='Default ``avg_non_ignore`` is False', category=UserWarning)
install_mmcv_shim()  # before mmseg: it imports mmcv.ops, whose compiled part mmcv-lite lacks

from mmseg.utils import register_all_modules as _register_mmseg  # noqa: E402

_register_mmseg(init_default_scope=False)

from . import synthetic  # noqa: E402,F401  (registers SyntheticVOCDataset in mmseg's DATASETS)
from . import adapter, evaluator  # noqa: E402,F401
