"""Reading and checking a run's config: typos and wrong ``type=`` names fail early with one clear line."""
import difflib
import hashlib
import importlib
import re
from typing import Any, Optional, Set

from mmengine.config import Config
from mmengine.registry import DefaultScope, Registry

from .config_check import SCHEDULE_KEYS, TRAIN_SCHEDULE_KEYS, check_keys, check_schedule, check_type_dict
from .errors import UnlearnError, first_line
from .precision import optim_wrapper_for, resolve as resolve_precision
from .registry import DATASETS, EVALUATORS, METHODS, MODELS, TASKS

#: Top-level keys a run config may have (anything else is almost surely a typo).
KNOWN_KEYS = {
    'task': 'the task adapter and its dataset',
    'model': 'the network (type=..., e.g. ResNet18)',
    'forget_classes': 'classes to forget, by name or index',
    'method': 'the unlearning method (type=DELETE, ...)',
    'schedule': 'the unlearning schedule (epochs, batch size, optimiser)',
    'train_schedule': 'the recipe of the original model and the retrain oracle',
    'original_checkpoint': 'your own original model (None: train once and cache)',
    'retrain_checkpoint': 'your own retrain oracle (None: train once and cache)',
    'retrain': "'train' (default): obtain the retrain oracle; None: run without one (a model owner's run)",
    'custom_imports': "the task's package, imported before anything is built (mmengine's custom_imports)",
    'evaluator': "the task's evaluator (default: the one the task names)",
    'checkpoint_dir': 'where trained original / oracle models are cached',
    'work_dir': 'where run folders are written',
    'seed': 'the unlearning seed',
    'precision': "'fp32' (default), 'bf16', 'fp16' (CUDA) or 'auto' (bf16 where native): every stage's arithmetic",
    'channels_last': 'every network in channels-last memory layout (default False)',
}
REQUIRED_KEYS = ('task', 'model', 'forget_classes', 'method', 'schedule', 'train_schedule')


def import_task_modules(cfg: Config) -> None:
    """Import the packages the config's ``custom_imports`` names (a task registers itself on import); a missing
    package fails here, for this config only, in one line."""
    custom = cfg.get('custom_imports')
    if custom is None:
        return
    if not isinstance(custom, dict) or not isinstance(custom.get('imports'), (list, tuple)) \
            or not all(isinstance(name, str) for name in custom['imports']):
        raise UnlearnError(f"custom_imports = {custom!r}: it must be dict(imports=['tasks.<name>', ...])")
    check_keys(custom, {'imports', 'allow_failed_imports'}, 'custom_imports')
    for name in custom['imports']:
        try:
            importlib.import_module(name)
        except ImportError as e:
            if custom.get('allow_failed_imports'):
                continue
            raise UnlearnError(f"custom_imports: cannot import {name}: {first_line(e)}") from e


def _task_class(cfg: Config) -> Optional[type]:
    task = cfg.get('task')
    return TASKS.module_dict.get(task.get('type')) if isinstance(task, dict) else None


def keys_from_package_bases(filename: Optional[str]) -> Set[str]:
    """Top-level keys that ``_base_`` files of installed packages (``mmseg::...``) define.

    They are that package's runtime (``train_dataloader``, ``default_hooks``, ``crop_size``, ...): a config
    that inherits them is not misspelling anything. Local ``_base_`` files are followed to find such bases.
    """
    if not filename or not filename.endswith('.py'):
        return set()
    keys: Set[str] = set()
    for base in Config._get_base_files(filename):
        path, package = Config._get_cfg_path(base, filename)
        keys |= set(Config.fromfile(path).keys()) if package else keys_from_package_bases(path)
    return keys


def check_config(cfg: Config) -> None:
    """Every top-level key must be ours, the task's (``TaskAdapter.config_keys``) or a package base's.
    The task's package is imported first (``custom_imports``), so its types are known."""
    import_task_modules(cfg)
    task_keys = getattr(_task_class(cfg), 'config_keys', {})
    known = {**KNOWN_KEYS, **task_keys}
    unknown = [key for key in cfg.keys() if key not in known]
    if unknown:
        unknown = sorted(set(unknown) - keys_from_package_bases(cfg.filename))
    if 'benchmark' in unknown:
        raise UnlearnError('this is a benchmark config (it has a `benchmark` grid): run it with '
                           f'python tools/benchmark.py {cfg.filename or "CONFIG"}')
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f'known keys: {sorted(known)}'
        raise UnlearnError(f"unknown config key '{key}' ({hint})")
    missing = [k for k in REQUIRED_KEYS if k not in cfg]
    if missing:
        raise UnlearnError(f'config is missing {missing}; inherit them from configs/_base_ (see README)')
    check_nested(cfg)


def check_nested(cfg: Config) -> None:
    """Every nested dict the core reads: the schedules, and each ``type=`` dict against its constructor.

    The unlearning schedule may have ``max_epochs = 0`` here (a one-shot edit does not train); a method that
    trains is held to at least one epoch once it is built (:func:`unlearn.apis.build_method`).
    """
    for key in ('task', 'model', 'method'):
        if not isinstance(cfg[key], dict):
            raise UnlearnError(f"config key '{key}' must be a dict with a type, got {cfg[key]!r}")
    if 'seed' in cfg and (isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int)):
        raise UnlearnError(f'seed = {cfg.seed!r}: it must be an integer')
    check_schedule(cfg.train_schedule, 'train_schedule', TRAIN_SCHEDULE_KEYS)
    check_schedule(cfg.schedule, 'schedule', SCHEDULE_KEYS, min_epochs=0)
    if cfg.get('retrain', 'train') not in ('train', None):
        raise UnlearnError(f"retrain = {cfg.retrain!r}: use 'train' (obtain the retrain oracle) or None (no oracle)")
    if cfg.get('retrain', 'train') is None and cfg.get('retrain_checkpoint'):
        raise UnlearnError('retrain = None runs without an oracle, yet retrain_checkpoint is set: remove one of them')
    if cfg.task.get('type') not in TASKS.module_dict:
        _unknown_task(cfg.task.get('type'))
    method = cfg.method
    check_type_dict(METHODS, method, 'method', extra={'schedule'})
    if method.get('schedule') is not None:
        check_schedule(method['schedule'], 'method.schedule', SCHEDULE_KEYS, min_epochs=0)
    check_type_dict(TASKS, cfg.task, 'task')
    _check_precision(cfg)
    dataset = cfg.task.get('dataset')
    if isinstance(dataset, dict) and dataset.get('type') in DATASETS.module_dict:
        check_type_dict(DATASETS, dataset, 'task.dataset')
    if cfg.model.get('type') in MODELS.module_dict:  # a task may build models of another library (mmseg)
        check_type_dict(MODELS, cfg.model, 'model')
    if cfg.get('evaluator') is not None:
        check_type_dict(EVALUATORS, cfg.evaluator, 'evaluator', filled={'task'})


def _check_precision(cfg: Config) -> None:
    """The precision and layout (:mod:`unlearn.precision`), and every schedule's optimiser wrapper under them."""
    precision = resolve_precision(cfg)
    schedules = dict(train_schedule=cfg.train_schedule, schedule=cfg.schedule,
                     **{'method.schedule': cfg.method.get('schedule') or {}})
    for where, schedule in schedules.items():
        if isinstance(schedule.get('optim_wrapper'), dict):
            try:
                optim_wrapper_for(schedule['optim_wrapper'], precision)
            except UnlearnError as e:
                raise UnlearnError(f'{where}.{e}') from e


def _unknown_task(name) -> None:
    """A task type nobody registered: usually its package is not in ``custom_imports``."""
    close = difflib.get_close_matches(str(name), TASKS.module_dict, n=1)
    if close:
        raise UnlearnError(f"unknown task type '{name}' (did you mean '{close[0]}'?)")
    known = f'imported tasks: {sorted(TASKS.module_dict)}' if TASKS.module_dict else 'no task package is imported'
    raise UnlearnError(f"unknown task type '{name}' ({known}): import the task's package with "
                       "custom_imports = dict(imports=['tasks.<name>']), as the configs/_base_ files of each task do")


def build_task(cfg: Config):
    """The task adapter, given the top-level keys it declares in ``config_keys`` (e.g. mmseg's dataloaders)."""
    import_task_modules(cfg)
    task_keys = getattr(_task_class(cfg), 'config_keys', {})
    return build_from(TASKS, cfg.task, 'task', default_args={k: cfg[k] for k in task_keys if k in cfg})


def build_evaluator(cfg: Config, task):
    """The config's ``evaluator``, or the one the task names (``TaskAdapter.evaluator``), built for ``task``."""
    return build_from(EVALUATORS, cfg.get('evaluator') or dict(type=task.evaluator), 'evaluator',
                      default_args=dict(task=task))


def build_from(registry: Registry, cfg: dict, what: str, default_args: Optional[dict] = None) -> Any:
    """``registry.build`` with the two usual mistakes (unknown type, wrong argument) said plainly."""
    cfg = dict(cfg)
    name = cfg.get('type')
    registry.import_from_location()  # the core's own modules (``locations``); tasks come by custom_imports
    if name not in registry.module_dict:
        close = difflib.get_close_matches(str(name), registry.module_dict, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f'choose from {sorted(registry.module_dict)}'
        raise UnlearnError(f"unknown {what} type '{name}' ({hint})")
    try:
        # Built in the registry's own scope: a Runner left mmengine's default scope behind, in which mmengine
        # would look for our registries, warn that it cannot find them and fall back to them anyway.
        with DefaultScope.overwrite_default_scope(registry.scope):
            return registry.build(cfg, default_args=default_args)
    except (TypeError, ValueError, FileNotFoundError) as e:
        # mmengine prefixes "class `X` in path: " at each nesting level; keep the user's part.
        message = re.sub(r'^(class `\w+` in [^:]+: )+', '', first_line(e))
        raise UnlearnError(f"{what} '{name}': {message}") from e


def config_hash(cfg: Config) -> str:
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()
