"""Checkpoint I/O: safe loading, plain state_dict saving, hashing, atomic writes.

The project's own checkpoints are plain ``state_dict`` files (loadable with
``torch.load(weights_only=True)``) plus JSON. Checkpoints written by mmengine carry non-tensor
objects (``HistoryBuffer``, numpy scalars and dtypes); they are read with a restricted unpickler instead
of turning safe loading off (see :class:`_MMEngineCheckpointUnpickler`). No byte of a file is ever unpickled
by anything else, so loading a checkpoint never runs code from it.
"""
import hashlib
import json
import os
import pickle
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Union

import numpy as np
import torch
from torch import nn

from .errors import UnlearnError, first_line

PathLike = Union[str, Path]


def _numpy_safe_globals() -> list:
    """numpy arrays, scalars and dtypes, as mmengine checkpoints' ``meta`` may contain them."""
    numpy_types = [np.dtype, np.ndarray, np._core.multiarray.scalar, np._core.multiarray._reconstruct]
    return numpy_types + [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]


class _Inert:
    """Stands in for mmengine's logging objects: built from the pickle without running any of their code."""


class _Refused(pickle.UnpicklingError):
    """A checkpoint asks for what a file of weights never needs, and what could run code or change the program."""

    def __init__(self, what: str):
        super().__init__(f'refusing to load a checkpoint that {what}')
        self.what = what


class _MMEngineCheckpointUnpickler(pickle._Unpickler):
    """Loads an mmengine checkpoint without allowing arbitrary code.

    ``weights_only=True`` cannot load these files: mmengine's ``HistoryBuffer`` (in ``message_hub``)
    pickles bound methods through ``builtins.getattr``, and allow-listing ``getattr`` would let a file
    reach any attribute of any allowed object. Instead, only torch's own weights-only allow-list and numpy's
    array types are resolved; ``HistoryBuffer`` and ``getattr`` resolve to inert stand-ins (the message hub
    is not needed to get the weights), and every other global is refused.

    Pickle's BUILD sets attributes of the object below it, so a file could also change the allowed classes and
    functions themselves (``collections.Counter.most_common = ...``) for the rest of the process. BUILD is
    refused on anything ``find_class`` returned; this needs the pure-Python unpickler, whose opcodes can be
    overridden (the pickles it reads are small: tensor data is stored beside them).
    """
    _allowed = {**torch._weights_only_unpickler._get_allowed_globals(),
                **{f'{t.__module__}.{t.__name__}': t for t in _numpy_safe_globals()}}
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._globals = {}  # id -> (name, object) of what find_class returned; kept alive so ids stay unique

    def find_class(self, module: str, name: str):
        qualified = f'{module}.{name}'
        if qualified == 'mmengine.logging.history_buffer.HistoryBuffer':
            found = _Inert
        elif qualified in ('builtins.getattr', '__builtin__.getattr'):
            found = lambda *args: None  # noqa: E731
        elif qualified in self._allowed:
            found = self._allowed[qualified]
        else:
            raise _Refused(f'refers to {qualified}')
        self._globals[id(found)] = qualified, found
        return found

    def _load_build(self):
        target = self.stack[-2]  # below the state
        if id(target) in self._globals:
            raise _Refused(f'sets attributes of {self._globals[id(target)][0]}')
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = _load_build


def _restricted_load(file, **kwargs):
    """``pickle_module.load`` for torch, which reads the header of a legacy (non-zip) file (magic number,
    protocol, system info) and the .tar format's tables with it: a crafted header would otherwise run code."""
    return _MMEngineCheckpointUnpickler(file, **kwargs).load()


def _torch_load_safely(path: Path):
    # torch's warnings on odd files (pickle protocol, TorchScript, changed source) would only add lines
    # beside the one that says what is wrong with the file
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        try:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError:
            pickle_module = SimpleNamespace(Unpickler=_MMEngineCheckpointUnpickler, load=_restricted_load,
                                            __name__='mmengine_checkpoint_unpickler')
            return torch.load(path, map_location='cpu', weights_only=False, pickle_module=pickle_module)


def _unloadable(path: Path, error: Exception) -> UnlearnError:
    """Say what ``path`` is, from why it did not load, and how to get a loadable one."""
    resave = 'save the weights again with torch.save(model.state_dict(), path) or point the config at another file'
    if isinstance(error, OSError):  # the file itself could not be read (permissions, I/O)
        return UnlearnError(f'cannot read checkpoint {path}: {first_line(error)}; check that it is readable')
    if path.stat().st_size == 0:
        return UnlearnError(f'checkpoint {path} is empty (0 bytes); {resave}')
    if isinstance(error, _Refused):
        return UnlearnError(f'checkpoint {path} was not loaded: it {error.what}, which a checkpoint of weights never '
                            'needs (loading it could run code); use a checkpoint from a source you trust, or '
                            f'{resave}')
    reason = first_line(error).split('. ')[0]  # torch's reasons go on for sentences
    with open(path, 'rb') as f:
        zipped = f.read(4) == b'PK\x03\x04'
    if 'TorchScript' in reason:
        what = 'a TorchScript archive (a program, not a checkpoint of weights: it is not loaded)'
    elif 'legacy .tar format' in reason:
        what = 'in the .tar format of PyTorch before 0.4, which cannot be read without trusting the file'
    elif zipped:
        what = f'a damaged PyTorch zip archive (truncated or corrupt: {type(error).__name__}: {reason})'
    else:
        what = ('not a PyTorch checkpoint, or only part of one (truncated, corrupt or another kind of file: '
                f'{type(error).__name__}: {reason})')
    return UnlearnError(f'checkpoint {path} is {what}; {resave}')


def load_state_dict(path: PathLike) -> 'OrderedDict[str, torch.Tensor]':
    """Load a model state_dict from a plain or an mmengine checkpoint, never running code from the file.

    An mmengine checkpoint keeps the weights under ``state_dict``; a leading ``module.`` (DDP) or
    ``student.`` (this project's wrapper) prefix is stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise UnlearnError(f'checkpoint not found: {path}')
    try:
        obj = _torch_load_safely(path)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is the user's file, say which
        raise _unloadable(path, e) from e
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


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it can only be read by setting it and
    setting it back (for an instant, another thread's new file would get the temporary mask)."""
    try:
        with open('/proc/self/status') as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith('Umask:'))
    except (OSError, StopIteration):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def atomic_write(path: Path, write) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file.

    ``mkstemp`` makes the file private (0600); it gets the mode ``open`` would give it (0666 less the
    umask), so outputs can be shared exactly as the user's other files.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_state_dict(model_or_state: Union[nn.Module, Dict[str, torch.Tensor]], path: PathLike) -> str:
    """Save a plain state_dict atomically; return its SHA-256."""
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    # contiguous: a channels-last network saves the same bytes (and SHA-256) as an NCHW one
    state = OrderedDict((k, v.detach().cpu().contiguous()) for k, v in state.items())
    atomic_write(Path(path), lambda f: torch.save(state, f))
    return sha256_file(path)


def save_json(obj: Any, path: PathLike) -> None:
    atomic_write(Path(path), lambda f: f.write(json.dumps(obj, indent=2, sort_keys=False).encode() + b'\n'))


def save_text(text: str, path: PathLike) -> None:
    atomic_write(Path(path), lambda f: f.write(text.encode()))
