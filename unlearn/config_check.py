"""What each nested dict of a run config may hold, and the values that make sense, checked before anything runs.

mmengine silently accepts a misspelt nested key (``schedule.max_epoch=2`` ran the default 20 epochs) and only
fails on a bad value once training is under way (a negative learning rate trained and cached both reference
models first). Every dict is checked here against what reads it: the schedules against the keys the core
reads, a ``type=`` dict against the constructor it builds.
"""
import difflib
import inspect
import tempfile
from numbers import Real
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Set

from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, Registry

from .errors import UnlearnError

#: What the unlearning loop reads from ``schedule`` (a method's own ``method.schedule`` is merged over it).
SCHEDULE_KEYS = {
    'max_epochs': 'epochs of unlearning',
    'batch_size': 'samples per training step',
    'optim_wrapper': "mmengine's optimiser wrapper (optimizer=dict(type='SGD', lr=...))",
    'param_scheduler': "mmengine's learning-rate schedule(s)",
    'log_interval': 'log every that many iterations',
    'disable_bn': 'keep batch-norm statistics fixed while unlearning',
    'freeze_classifier': 'train everything but the classifier (Table 3)',
    'curve_interval': 'unlearning curves every that many epochs (0: off)',
    'curve_samples': 'images per split for the curves',
}
#: What training the original model and the retrain oracle reads from ``train_schedule``.
TRAIN_SCHEDULE_KEYS = {
    'max_epochs': 'epochs of training',
    'batch_size': 'samples per training step',
    'optim_wrapper': "mmengine's optimiser wrapper",
    'param_scheduler': "mmengine's learning-rate schedule(s)",
    'log_interval': 'log every that many iterations',
    'val_interval': 'validate (to pick the best epoch) every that many epochs',
    'seed': 'the training seed (it keys the cache)',
}
#: Keys of ``optim_wrapper`` read by mmengine's optimiser builder rather than the wrapper's constructor.
_OPTIM_BUILDER_KEYS = {'type', 'optimizer', 'constructor', 'paramwise_cfg'}


def check_keys(values: Mapping, known: Iterable[str], where: str, list_known: bool = False) -> None:
    """Refuse a key of ``values`` that nothing reads, naming the close one; ``list_known``: and every known key
    beside it (a few that change with the dict's type, as an attack's)."""
    known = sorted(known)
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hints = ([f"did you mean '{where}.{close[0]}'?"] if close else []) \
                + ([f'{where} takes {known}'] if list_known or not close else [])
            raise UnlearnError(f"unknown config key '{where}.{key}' ({' '.join(hints)})")


def accepted_arguments(target: Any) -> Optional[Set[str]]:
    """The keyword arguments a class or function accepts, or None when it takes any (``**kwargs``).

    A class whose ``__init__`` forwards ``**kwargs`` to a base (mmengine's LR schedulers) accepts the union
    of the named arguments down its MRO, up to the first ``__init__`` that takes no ``**kwargs``.
    """
    functions = [klass.__dict__['__init__'] for klass in target.__mro__ if '__init__' in klass.__dict__] \
        if inspect.isclass(target) else [target]
    names: Set[str] = set()
    for function in functions:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature: nothing to check against
            return None
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names - {'self'}
    return None


def check_type_dict(registry: Registry, values: Mapping, where: str, extra: Iterable[str] = (),
                    filled: Iterable[str] = (), default_type: Optional[str] = None) -> None:
    """The keys of a ``type=`` dict against the constructor of that type.

    ``extra``: keys read by something else than the constructor; ``filled``: arguments the code passes
    itself (a user setting them would be overridden or clash). An unknown type is left to the builder,
    which says so with a suggestion.
    """
    target = registry.get(values.get('type', default_type)) if values.get('type', default_type) else None
    if target is None:
        return
    accepted = accepted_arguments(target)
    if accepted is None:
        return
    check_keys(values, (accepted - set(filled)) | set(extra) | {'type'}, where)


def _positive(values: Mapping, key: str, where: str, kind: type = int, minimum: Real = 1) -> None:
    if key not in values:
        return
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
        wanted = 'an integer' if kind is int else 'a number'
        bound = f'>= {minimum}' if kind is int else '> 0'
        raise UnlearnError(f'{where}.{key} = {value!r}: it must be {wanted} {bound}')


def check_schedule(schedule: Any, where: str, known: Mapping[str, str], min_epochs: int = 1) -> None:
    """A schedule's keys, its optimiser and scheduler dicts, and the values that would fail (or do nothing)
    only once training has started."""
    if not isinstance(schedule, Mapping):
        raise UnlearnError(f'{where} must be a dict, got {schedule!r}')
    check_keys(schedule, known, where)
    _positive(schedule, 'max_epochs', where, minimum=min_epochs)
    for key in ('batch_size', 'log_interval', 'val_interval', 'curve_samples'):
        _positive(schedule, key, where)
    _positive(schedule, 'curve_interval', where, minimum=0)
    if 'seed' in schedule and (isinstance(schedule['seed'], bool) or not isinstance(schedule['seed'], int)):
        raise UnlearnError(f"{where}.seed = {schedule['seed']!r}: it must be an integer")
    wrapper = schedule.get('optim_wrapper')
    if wrapper is not None:
        if not isinstance(wrapper, Mapping):
            raise UnlearnError(f'{where}.optim_wrapper must be a dict, got {wrapper!r}')
        check_type_dict(OPTIM_WRAPPERS, wrapper, f'{where}.optim_wrapper', extra=_OPTIM_BUILDER_KEYS,
                        filled={'optimizer'}, default_type='OptimWrapper')
        optimizer = wrapper.get('optimizer')
        if isinstance(optimizer, Mapping):
            check_type_dict(OPTIMIZERS, optimizer, f'{where}.optim_wrapper.optimizer', filled={'params'})
            _positive(optimizer, 'lr', f'{where}.optim_wrapper.optimizer', kind=Real, minimum=0)
            if optimizer.get('lr') == 0:
                raise UnlearnError(f'{where}.optim_wrapper.optimizer.lr = 0: nothing would be learned; '
                                   'it must be > 0')
    schedulers = schedule.get('param_scheduler')
    for i, scheduler in enumerate([schedulers] if isinstance(schedulers, Mapping) else schedulers or []):
        if not isinstance(scheduler, Mapping):
            raise UnlearnError(f'{where}.param_scheduler must be a dict or a list of dicts, got {scheduler!r}')
        name = f'{where}.param_scheduler' + (f'[{i}]' if not isinstance(schedulers, Mapping) else '')
        check_type_dict(PARAM_SCHEDULERS, scheduler, name, filled={'optimizer', 'param_name'},
                        extra={'convert_to_iter_based'})


def first_missing(path: Path) -> Optional[Path]:
    """The outermost folder of ``path`` that does not exist yet (what creating it would create), or None."""
    missing = None
    while not path.exists() and path != path.parent:
        missing, path = path, path.parent
    return missing


def check_output_folder(path, key: str) -> None:
    """Refuse, before anything is trained, a ``key`` folder that cannot be written: one of its parents is a
    file, or the deepest existing one does not let us create a file (tried, since root ignores mode bits but
    not an immutable or read-only folder). Nothing is created here."""
    path = Path(path)
    missing = first_missing(path)
    existing = missing.parent if missing else path
    if not existing.is_dir():
        raise UnlearnError(f"{key} = '{path}': {existing} is a file, not a folder; choose another {key}")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise UnlearnError(f"{key} = '{path}': cannot write in {existing} ({e.strerror}); choose a folder you "
                           f'can write in for {key}') from e
