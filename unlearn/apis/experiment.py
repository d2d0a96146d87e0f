"""A checked config and what it builds first: the task, its evaluator and the forget request."""
from dataclasses import dataclass
from typing import Tuple

from mmengine.config import Config

from ..adapter import TaskAdapter
from ..config import build_evaluator, build_task, check_config
from ..evaluator import TaskEvaluator
from ..precision import Precision, resolve
from ..request import ForgetRequest
from ..training import ORIGINAL, RETRAIN

DEFAULT_SEED = 2022  # the official code's seed (SPEC.md §1.4)


@dataclass(frozen=True)
class Experiment:
    """A config checked in full, its task, the task's evaluator and the (provisional) forget request."""
    cfg: Config
    task: TaskAdapter
    evaluator: TaskEvaluator
    request: ForgetRequest

    @property
    def reference_kinds(self) -> Tuple[str, ...]:
        """The reference models of this experiment: the original always; the retrain oracle unless the config
        says ``retrain = None`` or the task has no oracle recipe."""
        with_oracle = self.cfg.get('retrain', 'train') is not None and self.request.oracle_data is not None
        return (ORIGINAL, RETRAIN) if with_oracle else (ORIGINAL,)

    @property
    def precision(self) -> Precision:
        """The precision every stage runs in (:mod:`unlearn.precision`), resolved for this machine."""
        return resolve(self.cfg)

    @property
    def seed(self) -> int:
        return self.cfg.get('seed', DEFAULT_SEED)


def load_experiment(cfg: Config) -> Experiment:
    """Check and build everything a config reads, before any training; raises :class:`UnlearnError` on bad input.
    (The cached reference models are verified by :class:`unlearn.apis.references.ReferenceModels`.)"""
    check_config(cfg)
    task = build_task(cfg)
    return Experiment(cfg, task, build_evaluator(cfg, task), task.forget_request(cfg))
