"""The original model and the retrain oracle: trained once with the configured recipe, then cached.

A cached model is found by a hash of everything that determines it (data, network, recipe, seed and,
for the oracle, the forget set), so changing any of them trains a new one and nothing is overwritten.
A user can instead point ``original_checkpoint`` / ``retrain_checkpoint`` at their own files.
"""
import copy
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.logging import MMLogger
from mmengine.runner import set_random_seed
from torch import nn

from .adapter import Splits, TaskAdapter
from .checkpoint import load_state_dict, load_weights, save_json, save_state_dict, sha256_file
from .engine import mmengine_runner
from .model import SupervisedModel

ORIGINAL, RETRAIN = 'original', 'retrain'


@dataclass
class ObtainedModel:
    network: nn.Module
    checkpoint: Path
    sha256: str  # of ``checkpoint``, hashed once: it keys cached metrics and goes into meta.json
    trained_now: bool
    wall_time_s: float = 0.0


def model_key(kind: str, task: TaskAdapter, model_cfg: dict, train_schedule: dict,
              forget_classes: Optional[Sequence[int]]) -> str:
    """Hash of what determines a trained model; the oracle also depends on what it never saw."""
    spec = dict(kind=kind, data=task.fingerprint(), model=model_cfg, recipe=train_schedule,
                forget_classes=list(forget_classes) if kind == RETRAIN else None)
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_supervised(task: TaskAdapter, network: nn.Module, train_set, val_set, schedule: dict,
                     log_file: Path, launcher: str = 'none') -> nn.Module:
    """Train with mmengine's stock loop; keep the epoch with the best validation score (SPEC.md §4.4).

    The official code selects on the test split (the full test set for the original, D_rt for the
    oracle); this is reproduced here, so ``val_set`` is a test split.
    """
    evaluator, key = task.selection_metric()
    with mmengine_runner(
        model=SupervisedModel(network, task),
        log_file=log_file, seed=schedule['seed'], launcher=launcher,
        train_dataloader=task.dataloader(train_set, schedule['batch_size'], shuffle=True),
        max_epochs=schedule['max_epochs'],
        optim_wrapper=copy.deepcopy(schedule['optim_wrapper']),
        param_scheduler=copy.deepcopy(schedule.get('param_scheduler')),
        val_dataloader=task.dataloader(val_set, schedule['batch_size'], shuffle=False),
        val_evaluator=evaluator,
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


def cached_model_path(kind: str, cfg, task: TaskAdapter, forget_classes: Sequence[int]) -> Path:
    """Where the cache keeps the ``kind`` model of this config (whether or not it exists yet)."""
    model_cfg = _plain(cfg.model)
    key = model_key(kind, task, model_cfg, _plain(cfg.train_schedule), forget_classes)
    return Path(cfg.checkpoint_dir) / f'{kind}-{model_cfg["type"]}-{key}.pth'


def obtain_model(kind: str, cfg, task: TaskAdapter, splits: Splits, forget_classes: Sequence[int],
                 logger: MMLogger, launcher: str = 'none') -> ObtainedModel:
    """Load the user's checkpoint, or the cached one, or train it now and cache it (logged)."""
    set_random_seed(cfg.train_schedule['seed'])  # so the initial weights, too, follow from the cache key
    network = task.build_network(cfg.model)
    user_path = cfg.get(f'{kind}_checkpoint')
    if user_path:
        load_weights(network, user_path)
        return ObtainedModel(network, Path(user_path), sha256_file(user_path), trained_now=False)

    schedule, model_cfg = _plain(cfg.train_schedule), _plain(cfg.model)
    path = cached_model_path(kind, cfg, task, forget_classes)
    key = path.stem.rsplit('-', 1)[-1]
    cache = path.parent
    if path.is_file():
        logger.info(f'Using the cached {kind} model {path}')
        load_weights(network, path)
        return ObtainedModel(network, path, sha256_file(path), trained_now=False)

    what = 'on all training data' if kind == ORIGINAL else \
        f'on the remaining data only (never seeing {task.forget_class_names(forget_classes)})'
    logger.info(f'No cached {kind} model: training it once {what} for {schedule["max_epochs"]} epochs; '
                f'it will be saved as {path}')
    train_set, val_set = (splits.train, splits.test) if kind == ORIGINAL else (splits.train_remain, splits.test_remain)
    cache.mkdir(parents=True, exist_ok=True)
    started, cpu_started = time.time(), time.process_time()
    train_supervised(task, network, train_set, val_set, schedule, log_file=path.with_suffix('.log'),
                     launcher=launcher)
    sha = None
    if is_main_process():
        sha = save_state_dict(network, path)
        save_json(dict(kind=kind, key=key, model=model_cfg, data=task.fingerprint(), recipe=schedule,
                       forget_classes=list(forget_classes) if kind == RETRAIN else None,
                       sha256=sha, train_wall_time_s=time.time() - started,
                       # CPU time beside wall time tells a contended timing apart; float sums (hence the
                       # weights) depend on the thread count, so a retraining reproduces this file only with it
                       train_cpu_time_s=time.process_time() - cpu_started, torch_threads=torch.get_num_threads()),
                  path.with_suffix('.json'))
    barrier()
    return ObtainedModel(network, path, sha or sha256_file(path), trained_now=True)
