"""Building mmengine Runners the same way for training and unlearning.

One place decides logging, seeding and the launcher, so the original model, the retrain oracle and an
unlearning run are driven identically by the stock Runner, loops and hooks.
"""
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from mmengine.dist import is_main_process
from mmengine.runner import Runner


@contextmanager
def mmengine_runner(*, model, log_file: Path, seed: int, launcher: str = 'none',
                    train_dataloader: dict, max_epochs: int, optim_wrapper: dict,
                    param_scheduler: Optional[dict] = None, val_dataloader: Optional[dict] = None,
                    val_evaluator=None, checkpoint_hook: Optional[dict] = None, custom_hooks=(),
                    log_interval: int = 10, deterministic: bool = False) -> Iterator[Runner]:
    """A stock mmengine Runner working in a scratch folder beside ``log_file``.

    When the block ends, the Runner's log is appended to ``log_file`` and its scratch folder (timestamped
    log dir, config dump, checkpoints) is removed, so a run folder holds only what the project writes.
    Anything needed from the scratch folder (e.g. the best checkpoint) must be read inside the block.
    """
    scratch = Path(tempfile.mkdtemp(prefix='.runner-', dir=log_file.parent))
    validating = val_dataloader is not None
    runner = Runner(
        model=model,
        work_dir=str(scratch),
        experiment_name=scratch.name,
        train_dataloader=train_dataloader,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1 if validating else max_epochs + 1),
        optim_wrapper=optim_wrapper,
        param_scheduler=param_scheduler,
        val_dataloader=val_dataloader,
        val_cfg=dict() if validating else None,
        val_evaluator=val_evaluator,
        default_hooks=dict(logger=dict(type='LoggerHook', interval=log_interval), checkpoint=checkpoint_hook),
        custom_hooks=list(custom_hooks),
        visualizer=dict(type='Visualizer', vis_backends=[], name=scratch.name),
        randomness=dict(seed=seed, deterministic=deterministic),
        launcher=launcher,
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl')),
        default_scope='mmengine',
    )
    try:
        yield runner
    finally:
        runner_log = Path(runner.log_dir) / f'{runner.timestamp}.log'
        if is_main_process() and runner_log.is_file():
            with open(log_file, 'a') as out:
                out.write(runner_log.read_text())
        shutil.rmtree(scratch, ignore_errors=True)
