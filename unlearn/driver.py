"""How a method runs: set up, then train over its phases on the stock mmengine Runner, or edit once.

Methods that iterate one dataset per epoch (DELETE, Random Label, Finetune, ...) train on mmengine's stock
``EpochBasedTrainLoop``. Methods whose epochs are several passes over different data (SalUn with remaining
data: the forget set, then the remaining set; SCRUB: max steps on the forget set in the first epochs, then
min steps on the remaining set) train on :class:`PhasedEpochLoop`, the same loop with one pass per phase.
One-shot weight edits (Fisher, Influence) run outside any Runner.
"""
import copy
from pathlib import Path
from typing import List, Optional, Sequence

from mmengine.device import get_device
from mmengine.model import is_model_wrapper
from mmengine.registry import LOG_PROCESSORS, LOOPS
from mmengine.runner import EpochBasedTrainLoop, LogProcessor, set_random_seed

from .engine import mmengine_runner
from .methods.base import MethodData, Phase, UnlearningMethod
from .model import UnlearnModel


class _PhaseLoader:
    """A phase and its dataloader config. mmengine deep-copies loop configs, and a dataloader config holds
    the whole dataset: this passes it by reference instead."""

    def __init__(self, phase: Phase, loader: dict):
        self.phase, self.loader = phase, loader

    def __deepcopy__(self, memo) -> '_PhaseLoader':
        return self


@LOOPS.register_module()
class PhasedEpochLoop(EpochBasedTrainLoop):
    """An epoch-based loop whose every epoch runs one pass per phase, in order, over its own dataloader.

    The Runner's ``train_dataloader`` is the first phase's; the loop builds the others the same way (same
    seed, same sampler, so ``--launcher pytorch`` shards them too) and sets ``model.phase`` before each pass.
    Hooks see the batch index counted over the whole epoch (all its passes), as :class:`PhasedLogProcessor`
    logs it.

    Args:
        phases: the phases after the first, each with its dataloader config.
        first_phase: the first phase (its loader is the Runner's ``train_dataloader``).
    """

    def __init__(self, runner, dataloader, max_epochs: int, first_phase: _PhaseLoader,
                 phases: Sequence[_PhaseLoader] = (), **kwargs):
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.passes = [(first_phase.phase, self.dataloader)]
        for item in phases:
            loader = runner.build_dataloader(item.loader, seed=runner.seed,
                                             diff_rank_seed=runner._randomness_cfg.get('diff_rank_seed', False))
            self.passes.append((item.phase, loader))
        self._max_iters = sum(self.epoch_length(epoch) for epoch in range(self._max_epochs))

    def _active(self, epoch: int) -> list:
        return [(phase, loader) for phase, loader in self.passes if phase.epochs is None or epoch < phase.epochs]

    def epoch_length(self, epoch: int) -> int:
        """Iterations in ``epoch`` (0-based): one pass over each phase active in it."""
        return sum(len(loader) for _, loader in self._active(epoch))

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        model = self.runner.model.module if is_model_wrapper(self.runner.model) else self.runner.model
        done = 0
        for phase, loader in self._active(self._epoch):
            if loader is not self.dataloader and hasattr(loader.sampler, 'set_epoch'):
                loader.sampler.set_epoch(self._epoch)  # the first loader's is set by DistSamplerSeedHook
            model.enter_phase(phase)
            for idx, data_batch in enumerate(loader, start=done):
                self.run_iter(idx, data_batch)
            done += len(loader)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


@LOG_PROCESSORS.register_module()
class PhasedLogProcessor(LogProcessor):
    """mmengine's log processor, with a :class:`PhasedEpochLoop` epoch's length counted over all its passes
    (mmengine takes the loop's first dataloader: SCRUB logged "[1][80/40]")."""

    def _get_dataloader_size(self, runner, mode: str) -> int:
        loop = self._get_cur_loop(runner, mode)
        if isinstance(loop, PhasedEpochLoop):
            return loop.epoch_length(loop.epoch)
        return super()._get_dataloader_size(runner, mode)


def run_method(model: UnlearnModel, method: UnlearningMethod, data: MethodData, schedule: dict, *,
               log_file: Path, seed: int, launcher: str = 'none', custom_hooks: Sequence = (),
               phases: Optional[List[Phase]] = None) -> None:
    """Unlearn in place: ``model.student`` is the unlearned network when this returns.

    ``schedule`` holds ``max_epochs``, ``batch_size``, ``optim_wrapper`` and optionally ``param_scheduler``
    and ``log_interval``. ``phases`` are the method's, if already asked for (the pipeline asks early).
    """
    set_random_seed(seed)  # setup's draws (e.g. a random network) are reproducible too
    model.to(get_device())
    phases = phases if phases is not None else method.phases(data) if method.trains else []
    method.setup(model, data)
    if method.trains:
        loaders = [_PhaseLoader(p, data.task.dataloader(p.dataset, p.batch_size or schedule['batch_size'],
                                                       shuffle=True))
                   for p in phases]
        train_loop = log_processor = None
        if len(phases) > 1 or phases[0].epochs is not None or phases[0].frozen_bn:
            train_loop = dict(type='PhasedEpochLoop', first_phase=loaders[0], phases=loaders[1:])
            log_processor = dict(type='PhasedLogProcessor')
        model.enter_phase(phases[0])
        with mmengine_runner(
                model=model, log_file=log_file, seed=seed, launcher=launcher,
                train_dataloader=loaders[0].loader, train_loop=train_loop, log_processor=log_processor,
                max_epochs=schedule['max_epochs'], optim_wrapper=copy.deepcopy(schedule['optim_wrapper']),
                param_scheduler=copy.deepcopy(schedule.get('param_scheduler')),
                custom_hooks=[*custom_hooks, *method.hooks()],
                log_interval=schedule.get('log_interval', 10)) as runner:
            runner.train()
    else:
        model.eval()
        method.edit(model, data)
    method.finalize(model)
