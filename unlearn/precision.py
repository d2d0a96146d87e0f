"""The numeric precision and memory layout of a run, set once and applied by every stage that runs a network.

A config may say ``precision = 'fp32' | 'bf16' | 'fp16' | 'auto'`` and ``channels_last = True | False`` (top level;
absent: fp32, NCHW). They apply to training the original model and the oracle, to the unlearning, and to every
evaluation: the Runner's optimiser wrapper autocasts the forward pass (:func:`optim_wrapper_for`), and
:func:`unlearn.inference.predict` runs under the same autocast. Losses keep their softmax in float32
(:mod:`unlearn.losses`); weights and optimiser state stay float32 (autocast, not half-precision weights).

``'auto'`` is bf16 where the hardware computes it natively (a CUDA GPU with bf16, a CPU with AVX-512 BF16 or AMX)
and fp32 elsewhere. ``'fp16'`` needs a CUDA GPU: it is mmengine's ``AmpOptimWrapper`` with dynamic loss scaling,
which CPU autocast lacks. A run applies its precision with :func:`applied`; code that is not numerically safe in
half precision (Fisher's and influence's second-order terms) runs outside autocast.
"""
import contextlib
import functools
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from .errors import UnlearnError

PRECISIONS = ('fp32', 'bf16', 'fp16', 'auto')
DTYPES = dict(bf16=torch.bfloat16, fp16=torch.float16)
#: What a config without the keys runs: every model trained or cached before they existed ran this way.
DEFAULTS = dict(precision='fp32', channels_last=False)


def native_bf16(device: str) -> bool:
    """Whether ``device`` ('cpu' or 'cuda') computes bfloat16 natively (so bf16 autocast is faster, not emulated)."""
    if device == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@dataclass(frozen=True)
class Precision:
    """A resolved setting: ``name`` is 'fp32', 'bf16' or 'fp16' ('auto' is resolved for ``device``)."""
    name: str = 'fp32'
    channels_last: bool = False
    device: str = 'cpu'

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES.get(self.name, torch.float32)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward passes' autocast (a no-op context in fp32)."""
        if self.name == 'fp32':
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device, dtype=self.dtype)

    def prepare(self, network: nn.Module) -> nn.Module:
        """``network`` in this memory layout (in place; its 4-d weights become channels-last or stay NCHW)."""
        if self.channels_last:
            network.to(memory_format=torch.channels_last)
        return network

    def key(self) -> dict:
        """What a cache key adds: nothing for the defaults, so models and metrics cached before stay valid."""
        return {k: v for k, v in self.record().items() if k in DEFAULTS and v != DEFAULTS[k]}

    def record(self) -> dict:
        """What ran, for meta.json."""
        return dict(precision=self.name, channels_last=self.channels_last, device=self.device)


def resolve(cfg: Mapping[str, Any], device: str = None) -> Precision:
    """The config's precision for ``device`` (default: CUDA if present, else the CPU); bad values are refused
    in one line before anything runs."""
    device = device or default_device()
    name = cfg.get('precision', DEFAULTS['precision'])
    channels_last = cfg.get('channels_last', DEFAULTS['channels_last'])
    if name not in PRECISIONS:
        raise UnlearnError(f'precision = {name!r}: choose one of {list(PRECISIONS)} (auto: bf16 where the '
                           'hardware has it natively, else fp32)')
    if not isinstance(channels_last, bool):
        raise UnlearnError(f'channels_last = {channels_last!r}: it must be True or False')
    if name == 'auto':
        name = 'bf16' if native_bf16(device) else 'fp32'
    if name == 'fp16' and device != 'cuda':
        raise UnlearnError("precision = 'fp16' needs a CUDA GPU (it scales the loss, which CPU autocast cannot); "
                           "use 'bf16' or 'auto' on a CPU")
    return Precision(name, channels_last, device)


_CURRENT: ContextVar[Precision] = ContextVar('unlearn_precision', default=Precision(device=default_device()))


def current() -> Precision:
    """The precision of the run in progress (fp32 outside one)."""
    return _CURRENT.get()


@contextlib.contextmanager
def applied(precision: Precision) -> Iterator[Precision]:
    """Run the block in ``precision``: the Runners it starts and every :func:`unlearn.inference.predict` use it."""
    token = _CURRENT.set(precision)
    try:
        yield precision
    finally:
        _CURRENT.reset(token)


def in_config_precision(function: Callable) -> Callable:
    """Run ``function(cfg, ...)`` in the precision ``cfg`` asks for (an entry point of the run API)."""
    @functools.wraps(function)
    def run(cfg, *args, **kwargs):
        with applied(resolve(cfg)):
            return function(cfg, *args, **kwargs)
    return run


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """mmengine's ``OptimWrapper`` with the forward pass under ``torch.autocast`` (bf16 on a CPU or a GPU).

    mmengine's ``AmpOptimWrapper`` refuses CPUs and always scales the loss; bfloat16 has float32's exponent
    range, so it needs no loss scaling, and this is the whole difference.
    """

    def __init__(self, *args, device: str = 'cpu', dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        self.device, self.cast_dtype = device, getattr(torch, dtype)

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(device_type=self.device, dtype=self.cast_dtype):
            yield


def optim_wrapper_for(optim_wrapper: dict, precision: Precision) -> dict:
    """``optim_wrapper`` (a config dict) wrapped for ``precision``: unchanged in fp32, autocast in bf16, AMP with
    dynamic loss scaling in fp16. A config that names its own wrapper type keeps it, unless it clashes."""
    if precision.name == 'fp32':
        return optim_wrapper
    kind = optim_wrapper.get('type', 'OptimWrapper')
    if kind != 'OptimWrapper':
        raise UnlearnError(f"optim_wrapper type '{kind}' with precision = '{precision.name}': the precision setting "
                           "chooses the wrapper; drop optim_wrapper.type or use precision = 'fp32'")
    if precision.name == 'fp16':
        return dict(optim_wrapper, type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
    return dict(optim_wrapper, type='AutocastOptimWrapper', device=precision.device, dtype='bfloat16')
