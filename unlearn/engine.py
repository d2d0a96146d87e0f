"""Building mmengine Runners the same way for training and unlearning.

One place decides logging, seeding and the launcher, so the original model, the retrain oracle and an
unlearning run are driven identically by the stock Runner, loops and hooks.
"""
import logging
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import torch
from mmengine.dist import barrier, broadcast_object_list, init_dist, is_distributed, is_main_process
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from .locks import OwnedFolder, remove_abandoned
from .precision import current, optim_wrapper_for


class _KnownNoise(logging.Filter):
    """Drops the warnings mmengine's stock loops and hooks print on every run, which a user can do nothing
    about: datasets without mmengine ``metainfo`` (ours are plain torch datasets; nothing reads it), and the
    ``FileClient`` deprecation the stock CheckpointHook triggers itself."""
    NOISE = ('has no metainfo', '"FileClient" will be deprecated', '"HardDiskBackend" is the alias')

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.NOISE)


def dist_backend() -> str:
    """NCCL on GPUs, gloo on CPUs (so ``--launcher pytorch`` also runs, and is tested, on CPU)."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def init_distributed(launcher: str) -> None:
    """Start the process group before anything is written, so rank 0 alone can create the run folder.

    mmengine's ``init_dist`` always selects a CUDA device; on CPU the gloo group is started directly from
    the launcher's environment (``torchrun`` sets it), so the distributed path runs, and is tested, on CPU.
    """
    if launcher == 'none' or is_distributed():
        return
    if torch.cuda.is_available() or launcher != 'pytorch':
        init_dist(launcher, backend=dist_backend())
    else:
        torch.distributed.init_process_group(backend='gloo')


def _cpu_ddp_wrapper(launcher: str) -> Optional[dict]:
    """mmengine's default DDP wrapper passes a CUDA ``device_ids``; a CPU module needs none."""
    if launcher == 'none' or torch.cuda.is_available():
        return None
    return dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel', broadcast_buffers=False, device_ids=None))


@contextmanager
def mmengine_runner(*, log_file: Path, launcher: str = 'none', log_level: str = 'INFO',
                    **runner_args) -> Iterator[Runner]:
    """A stock mmengine Runner working in a scratch folder beside ``log_file`` (``runner_args``: see
    :func:`_runner`).

    When the block ends, the Runner's log is appended to ``log_file`` and its scratch folder (timestamped
    log dir, config dump, checkpoints) is removed, so a run folder holds only what the project writes.
    Anything needed from the scratch folder (e.g. the best checkpoint) must be read inside the block.
    The run's precision (:func:`unlearn.precision.current`) chooses the optimiser wrapper (autocast or AMP) and
    the model's memory layout. The scratch folder is owned (:class:`OwnedFolder`) while in use, so the
    scratch folders of killed processes beside it are told apart and removed. The Runner's default scope ends
    with it: code built afterwards from this project's registries finds them, not mmengine's roots.
    """
    init_distributed(launcher)
    precision = current()
    runner_args['optim_wrapper'] = optim_wrapper_for(runner_args['optim_wrapper'], precision)
    precision.prepare(runner_args['model'])
    owner = OwnedFolder(tempfile.mkdtemp(prefix='.runner-', dir=log_file.parent)) if is_main_process() else None
    scratch = [str(owner.path) if owner else None]
    broadcast_object_list(scratch)  # one scratch folder for all ranks: rank 0's checkpoints are read by all
    scratch = Path(scratch[0])
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = _runner(scratch, launcher=launcher, log_level=log_level, **runner_args)
        runner.logger.addFilter(_KnownNoise())
        if owner:  # logged by the Runner: on the console and, appended below, in ``log_file``
            remove_abandoned(log_file.parent, '.runner-*', runner.logger)
        try:
            yield runner
            barrier()
        finally:
            if is_main_process():
                runner_log = Path(runner.log_dir) / f'{runner.timestamp}.log'
                if runner_log.is_file():
                    with open(log_file, 'a') as out:
                        out.write(runner_log.read_text())
                shutil.rmtree(scratch, ignore_errors=True)
                owner.release()


def _runner(scratch: Path, *, model, seed: int, launcher: str, train_dataloader: dict, max_epochs: int,
            optim_wrapper: dict, param_scheduler: Optional[dict] = None, val_dataloader: Optional[dict] = None,
            val_evaluator=None, checkpoint_hook: Optional[dict] = None, custom_hooks=(), log_interval: int = 10,
            deterministic: bool = False, log_level: str = 'INFO', train_loop: Optional[dict] = None,
            log_processor: Optional[dict] = None, val_interval: int = 1) -> Runner:
    """The Runner. ``train_loop`` names a registered loop (``type`` plus its arguments) to use instead of the
    stock ``EpochBasedTrainLoop``, e.g. a method that alternates passes over two datasets every epoch.
    ``log_processor`` names a registered log processor to use instead of mmengine's (e.g. the one that knows
    that loop's epoch length). ``val_interval``: validate every that many epochs (and after the last one)
    when a val set is given."""
    validating = val_dataloader is not None
    return Runner(
        model=model,
        work_dir=str(scratch),
        experiment_name=scratch.name,
        train_dataloader=train_dataloader,
        train_cfg=dict(train_loop or dict(by_epoch=True), max_epochs=max_epochs,
                       val_interval=val_interval if validating else max_epochs + 1),
        optim_wrapper=optim_wrapper,
        param_scheduler=param_scheduler,
        val_dataloader=val_dataloader,
        val_cfg=dict() if validating else None,
        val_evaluator=val_evaluator,
        default_hooks=dict(logger=dict(type='LoggerHook', interval=log_interval), checkpoint=checkpoint_hook),
        log_processor=log_processor,
        custom_hooks=list(custom_hooks),
        visualizer=dict(type='Visualizer', vis_backends=[], name=scratch.name),
        randomness=dict(seed=seed, deterministic=deterministic),
        launcher=launcher,
        # cuDNN's autotuner picks the fastest kernels, which may differ run to run: only when not deterministic
        env_cfg=dict(cudnn_benchmark=torch.cuda.is_available() and not deterministic,
                     dist_cfg=dict(backend=dist_backend())),
        default_scope='mmengine',
        log_level=log_level,
        cfg=_cpu_ddp_wrapper(launcher),
    )
