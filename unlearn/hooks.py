"""Unlearning curves: forget / remain accuracy over the epochs, on small fixed samples of each split.

The official code evaluates all four full splits after every epoch (70% of its epoch time measured
here); a few hundred fixed images per split show the same curve for a fraction of the cost.
"""
from typing import Dict, List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import Dataset


class UnlearningCurveHook(Hook):
    """Record the evaluator's ``accuracy`` of the student on each sample before training and every ``interval``
    epochs.

    Each sample is evaluated under its own fixed seed at every point, so a curve moves only with the model."""
    priority = 'LOW'

    def __init__(self, evaluator, samples: Dict[str, Dataset], request, interval: int = 1):
        self.evaluator = evaluator
        self.samples = samples
        self.request = request
        self.interval = interval
        self.history: List[dict] = []

    def _record(self, runner, epoch: int) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        point = dict(epoch=epoch, **{name: self.evaluator.accuracy(model.student, ds, f'curve_{name}', self.request)
                                     for name, ds in self.samples.items()})
        self.history.append(point)
        runner.logger.info('curve ' + ', '.join(f'{k}={v:.2f}' if k != 'epoch' else f'epoch={v}'
                                                for k, v in point.items()))

    def before_train(self, runner) -> None:
        self._record(runner, 0)

    def after_train_epoch(self, runner) -> None:
        if self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner):
            self._record(runner, runner.epoch + 1)
