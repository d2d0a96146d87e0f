"""Checkpoint I/O: safe loading, plain state_dict saving, hashing, atomic writes.

The project's own checkpoints are plain ``state_dict`` files (loadable with
``torch.load(weights_only=True)``) plus JSON. Checkpoints written by mmengine carry non-tensor
objects (``HistoryBuffer``, numpy scalars and dtypes); they are read with a restricted unpickler instead
of turning safe loading off (see :class:`_MMEngineCheckpointUnpickler`).
"""
import hashlib
import json
import os
import pickle
import tempfile
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Union

import numpy as np
import torch
from torch import nn

from .errors import UnlearnError

PathLike = Union[str, Path]


def _numpy_safe_globals() -> list:
    """numpy arrays, scalars and dtypes, as mmengine checkpoints' ``meta`` may contain them."""
    numpy_types = [np.dtype, np.ndarray, np._core.multiarray.scalar, np._core.multiarray._reconstruct]
    return numpy_types + [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]


class _Inert:
    """Stands in for mmengine's logging objects: built from the pickle without running any of their code."""


class _MMEngineCheckpointUnpickler(pickle.Unpickler):
    """Loads an mmengine checkpoint without allowing arbitrary code.

    ``weights_only=True`` cannot load these files: mmengine's ``HistoryBuffer`` (in ``message_hub``)
    pickles bound methods through ``builtins.getattr``, and allow-listing ``getattr`` would let a file
    reach any attribute of any allowed object. Instead, only torch's own weights-only allow-list and numpy's
    array types are resolved; ``HistoryBuffer`` and ``getattr`` resolve to inert stand-ins (the message hub
    is not needed to get the weights), and every other global is refused.
    """
    _allowed = {**torch._weights_only_unpickler._get_allowed_globals(),
                **{f'{t.__module__}.{t.__name__}': t for t in _numpy_safe_globals()}}

    def find_class(self, module: str, name: str):
        qualified = f'{module}.{name}'
        if qualified == 'mmengine.logging.history_buffer.HistoryBuffer':
            return _Inert
        if qualified in ('builtins.getattr', '__builtin__.getattr'):
            return lambda *args: None
        if qualified in self._allowed:
            return self._allowed[qualified]
        raise pickle.UnpicklingError(f'refusing to load {qualified} from a checkpoint')


def _torch_load_safely(path: Path):
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        pickle_module = SimpleNamespace(Unpickler=_MMEngineCheckpointUnpickler, load=pickle.load,
                                        __name__='mmengine_checkpoint_unpickler')
        return torch.load(path, map_location='cpu', weights_only=False, pickle_module=pickle_module)


def load_state_dict(path: PathLike) -> 'OrderedDict[str, torch.Tensor]':
    """Load a model state_dict from a plain or an mmengine checkpoint, never running code from the file.

    An mmengine checkpoint keeps the weights under ``state_dict``; a leading ``module.`` (DDP) or
    ``student.`` (this project's wrapper) prefix is stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise UnlearnError(f'checkpoint not found: {path} (check the path in your config)')
    try:
        obj = _torch_load_safely(path)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is the user's file, say which
        raise UnlearnError(f'cannot load checkpoint {path} safely: {str(e).splitlines()[0]}') from e
    state = obj.get('state_dict', obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UnlearnError(f'{path} holds no state_dict of tensors; save one with torch.save(model.state_dict())')
    for prefix in ('module.', 'student.'):
        if state and all(k.startswith(prefix) for k in state):
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items())
    return OrderedDict(state)


def load_weights(model: nn.Module, path: PathLike) -> nn.Module:
    """Load ``path`` into ``model`` strictly, turning a mismatch into one clear line."""
    state = load_state_dict(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or mismatched:
        detail = '; '.join(part for part in (
            f'{len(missing)} missing keys (e.g. {missing[0]})' if missing else '',
            f'{len(unexpected)} unexpected keys (e.g. {unexpected[0]})' if unexpected else '',
            f'shape mismatch at {mismatched[0]}: checkpoint {tuple(state[mismatched[0]].shape)} vs '
            f'model {tuple(own[mismatched[0]].shape)}' if mismatched else '') if part)
        raise UnlearnError(f'checkpoint {path} does not match the model {type(model).__name__}: {detail}. '
                           'Check the config\'s model (type, num_classes) against the checkpoint.')
    model.load_state_dict(state)
    return model


def sha256_file(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_state_dict(model_or_state: Union[nn.Module, Dict[str, torch.Tensor]], path: PathLike) -> str:
    """Save a plain state_dict atomically; return its SHA-256."""
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    state = OrderedDict((k, v.detach().cpu()) for k, v in state.items())
    _atomic_write(Path(path), lambda f: torch.save(state, f))
    return sha256_file(path)


def save_json(obj: Any, path: PathLike) -> None:
    _atomic_write(Path(path), lambda f: f.write(json.dumps(obj, indent=2, sort_keys=False).encode() + b'\n'))


def save_text(text: str, path: PathLike) -> None:
    _atomic_write(Path(path), lambda f: f.write(text.encode()))
