"""The original model and the retrain oracle: trained once with the configured recipe, then cached.

A cached model is found by a hash of everything that determines it (data, network, recipe, seed and,
for the oracle, the forget set), so changing any of them trains a new one and nothing is overwritten.
A cached model is used only if it matches the SHA-256 in its record (``<same name>.json``), and one process at a
time trains a cache entry: another run that needs it waits, then reuses it.
A user can instead point ``original_checkpoint`` / ``retrain_checkpoint`` at their own files.
"""
import copy
import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import MMLogger
from mmengine.runner import set_random_seed
from torch import nn

from .adapter import TaskAdapter
from .checkpoint import load_state_dict, load_weights, save_json, save_state_dict, sha256_file
from .engine import init_distributed, mmengine_runner
from .errors import UnlearnError, first_line
from .locks import exclusive_lock, remove_stale_locks, try_lock
from .model import SupervisedModel
from .precision import resolve as resolve_precision
from .request import ForgetRequest, ReferenceData

ORIGINAL, RETRAIN = 'original', 'retrain'


@dataclass
class ObtainedModel:
    network: nn.Module
    checkpoint: Path
    sha256: str  # of ``checkpoint``, hashed once: it keys cached metrics and goes into meta.json
    trained_now: bool
    wall_time_s: float = 0.0


def model_key(kind: str, data: dict, model_cfg: dict, train_schedule: dict,
              forget_classes: Sequence[int], pretrained: Optional[str] = None, precision: Optional[dict] = None) -> str:
    """Hash of what determines a trained model: ``data`` (:func:`data_fingerprint`), the model and the recipe;
    the oracle also depends on what it never saw, a model finetuned from a pretrained network on that
    network's file, and one trained in another precision or layout than fp32 NCHW on that (``precision``:
    ``Precision.key()``, empty for the defaults, so models cached before the setting existed keep their key)."""
    spec = dict(kind=kind, data=data, model=model_cfg, recipe=train_schedule,
                forget_classes=list(forget_classes) if kind == RETRAIN else None)
    if pretrained:
        spec['pretrained'] = pretrained
    spec.update(precision or {})
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_supervised(task: TaskAdapter, evaluator, network: nn.Module, data: ReferenceData, schedule: dict,
                     log_file: Path, launcher: str = 'none') -> nn.Module:
    """Train with mmengine's stock loop; keep the epoch with the best score of the evaluator's selection
    metric on ``data.val`` (SPEC.md §4.4: the official code selects on a test split, the full test set for
    the original, D_rt for the oracle)."""
    metric, key = evaluator.selection_metric()
    train_set, val_set = data.train, data.val
    with mmengine_runner(
        model=SupervisedModel(network, task, evaluator),
        log_file=log_file, seed=schedule['seed'], launcher=launcher,
        train_dataloader=task.dataloader(train_set, schedule['batch_size'], shuffle=True),
        max_epochs=schedule['max_epochs'],
        optim_wrapper=copy.deepcopy(schedule['optim_wrapper']),
        param_scheduler=copy.deepcopy(schedule.get('param_scheduler')),
        val_dataloader=task.dataloader(val_set, schedule['batch_size'], shuffle=False),
        val_evaluator=metric,
        checkpoint_hook=dict(type='CheckpointHook', interval=-1, save_best=key, rule='greater',
                             save_last=False, save_optimizer=False, save_param_scheduler=False),
        log_interval=schedule.get('log_interval', 50),
        # Official: every epoch. Sparser validation keeps CPU recipes affordable (best of the validated epochs).
        val_interval=schedule.get('val_interval', 1)) as runner:
        runner.train()
        barrier()  # rank 0 writes the best checkpoint; every rank reads it
        state = load_state_dict(runner.message_hub.get_info('best_ckpt'))
    network.load_state_dict({k[len('network.'):]: v for k, v in state.items() if k.startswith('network.')})
    return network


def _plain(cfg_dict) -> dict:
    return cfg_dict.to_dict() if hasattr(cfg_dict, 'to_dict') else dict(cfg_dict)


def data_fingerprint(kind: str, task: TaskAdapter, request: ForgetRequest) -> dict:
    """What determines the ``kind`` model's training data: its reference data's own fingerprint, else the task's."""
    data = request.original_data if kind == ORIGINAL else request.oracle_data
    return data.fingerprint if data is not None and data.fingerprint is not None else task.fingerprint()


def cached_model_path(kind: str, cfg, task: TaskAdapter, request: ForgetRequest,
                      pretrained: Optional[str] = None) -> Path:
    """Where the cache keeps the ``kind`` model of this config (whether or not it exists yet); ``pretrained``:
    the SHA-256 of the pretrained network it starts from, if any."""
    model_cfg = _plain(cfg.model)
    key = model_key(kind, data_fingerprint(kind, task, request), model_cfg, _plain(cfg.train_schedule),
                    request.forget_classes, pretrained, resolve_precision(cfg).key())
    return Path(cfg.checkpoint_dir) / f'{kind}-{model_cfg["type"]}-{key}.pth'


def verify_cached_model(path: Path) -> str:
    """Check a cached model against the SHA-256 its record (``<same name>.json``) was written with; return it.

    A cache file that was swapped, damaged or copied in without its record is refused: its metrics would be
    reported as the cached model's.
    """
    record = path.with_suffix('.json')
    retrain = f'delete {path} and {record} to train it again'
    if not record.is_file():
        raise UnlearnError(f'cached model {path} has no record {record.name} to verify it against; delete it to '
                           'train it again, or use it as your own with original_checkpoint / retrain_checkpoint')
    try:
        expected = json.loads(record.read_text())['sha256']
    except (ValueError, KeyError, TypeError) as e:
        raise UnlearnError(f'record {record} of the cached model {path} is unreadable ({first_line(e)}); '
                           f'{retrain}') from e
    actual = sha256_file(path)
    if actual != expected:
        raise UnlearnError(f'cached model {path} is not the file its record {record.name} describes (sha256 '
                           f'{actual[:12]}..., recorded {str(expected)[:12]}...): it was changed or replaced; '
                           f'restore the original file, or {retrain}')
    return actual


def check_reference_cache(cfg, task: TaskAdapter, request: ForgetRequest, kinds: Sequence[str],
                          pretrained: Optional[str] = None) -> None:
    """Verify the cached original model and retrain oracle that exist, before anything is trained.

    Models the config brings itself (``original_checkpoint`` ...) are not the cache's. An entry another
    process is writing now (its lock is held) is verified by :func:`obtain_model` once it is written.
    """
    for kind in kinds:
        path = cached_model_path(kind, cfg, task, request, pretrained)
        if cfg.get(f'{kind}_checkpoint') or not path.is_file():
            continue
        if not _being_written(path):
            verify_cached_model(path)


def _lock_path(path: Path) -> Path:
    return path.with_name(f'{path.name}.lock')


def _being_written(path: Path) -> bool:
    """Whether another process holds the cache entry's lock now (it may be between saving the model and
    its record); once it is released, a model that exists is never written again."""
    try:
        with try_lock(_lock_path(path)) as free:
            return not free
    except FileNotFoundError:  # no lock file: nobody holds it
        return False


@contextmanager
def _cache_entry_lock(path: Path, kind: str, logger: MMLogger) -> Iterator[None]:
    """One process at a time looks for, trains and saves a cache entry: a second one waits, then reuses it.

    Only rank 0 of a distributed run locks (its ranks act together). A cache this process cannot write to is
    only ever read: there is nothing to lock.
    """
    if not is_main_process() or not os.access(path.parent, os.W_OK):
        yield
        return
    remove_stale_locks(path.parent, '*.pth.lock')  # left by killed processes
    lock = _lock_path(path)
    with exclusive_lock(lock, on_wait=lambda: logger.info(
            f'Another process is training or saving the {kind} model {path.name}; waiting for it ({lock})')):
        yield


def seeded_network(cfg, task: TaskAdapter) -> nn.Module:
    """A freshly initialised network under the training seed: a trained model's initial weights, too, follow
    from its cache key."""
    set_random_seed(cfg.train_schedule['seed'])
    return task.build_network(cfg.model)


def user_model(kind: str, cfg, task: TaskAdapter) -> Optional[ObtainedModel]:
    """The user's own ``<kind>_checkpoint``, loaded (and so checked) once; None if the config names none."""
    path = cfg.get(f'{kind}_checkpoint')
    if not path:
        return None
    network = seeded_network(cfg, task)
    try:
        load_weights(network, path)
    except UnlearnError as e:
        raise UnlearnError(f'{kind}_checkpoint: {e}') from e
    return ObtainedModel(network, Path(path), sha256_file(path), trained_now=False)


@dataclass(frozen=True)
class TrainingJob:
    """A model the cache keeps: where it is kept, what it trains on with which recipe, what its record says."""
    kind: str
    path: Path
    data: ReferenceData
    schedule: dict
    record: dict
    description: str


def obtain_model(job: TrainingJob, network: nn.Module, task: TaskAdapter, evaluator, logger: MMLogger,
                 launcher: str = 'none', prepare: Optional[Callable[[nn.Module], None]] = None) -> ObtainedModel:
    """The cached model of ``job`` (verified), or ``network`` (freshly built by :func:`seeded_network`) trained
    now and cached (logged). ``prepare`` runs on ``network`` before it trains (e.g. loads a pretrained backbone)."""
    path, kind = job.path, job.kind
    path.parent.mkdir(parents=True, exist_ok=True)
    init_distributed(launcher)  # ranks are known before rank 0 alone locks
    with _cache_entry_lock(path, kind, logger):
        barrier()  # all ranks look while rank 0 holds the lock: the entry cannot change until it is released
        if path.is_file():
            logger.info(f'Using the cached {kind} model {path}')
            sha = verify_cached_model(path)
            load_weights(network, path)
            return ObtainedModel(network, path, sha, trained_now=False)
        logger.info(f'No cached {kind} model: training it once {job.description} for {job.schedule["max_epochs"]} '
                    f'epochs; it will be saved as {path}')
        if prepare is not None:
            prepare(network)
        started, cpu_started = time.time(), time.process_time()
        train_supervised(task, evaluator, network, job.data, job.schedule, log_file=path.with_suffix('.log'),
                         launcher=launcher)
        sha = None
        if is_main_process():
            sha = save_state_dict(network, path)
            save_json(dict(job.record, sha256=sha, train_wall_time_s=time.time() - started,
                           # CPU time beside wall time tells a contended timing apart; float sums (hence the
                           # weights) depend on the thread count, so a retraining reproduces this file only with it
                           train_cpu_time_s=time.process_time() - cpu_started,
                           torch_threads=torch.get_num_threads()),
                      path.with_suffix('.json'))
        barrier()
    return ObtainedModel(network, path, sha or sha256_file(path), trained_now=True)


def reference_job(kind: str, cfg, task: TaskAdapter, request: ForgetRequest,
                  pretrained: Optional[str] = None) -> TrainingJob:
    """The original model (all training data) or the retrain oracle (the remaining data only), on
    ``train_schedule``; ``pretrained``: the SHA-256 of the pretrained network both start from, if any."""
    schedule, model_cfg = _plain(cfg.train_schedule), _plain(cfg.model)
    path = cached_model_path(kind, cfg, task, request, pretrained)
    record = dict(kind=kind, key=path.stem.rsplit('-', 1)[-1], model=model_cfg,
                  data=data_fingerprint(kind, task, request),
                  recipe=schedule, forget_classes=list(request.forget_classes) if kind == RETRAIN else None)
    if pretrained:
        record['pretrained'] = pretrained
    record.update(resolve_precision(cfg).key())
    return TrainingJob(kind, path, request.original_data if kind == ORIGINAL else request.oracle_data, schedule,
                       record, 'on all training data' if kind == ORIGINAL else
                       f'on the remaining data only (never seeing {request.forget_names})')
