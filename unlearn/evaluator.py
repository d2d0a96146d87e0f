"""How a task scores a model: its metrics, the unlearning curves, the report's columns and facts, its figures.

Each task registers an evaluator in ``EVALUATORS`` and names it (``TaskAdapter.evaluator``); the core builds
it with the task and calls it for every model of a run (the original, the oracle, the unlearned model).
"""
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from torch import nn
from torch.utils.data import Dataset

from .evaluation import derive_seed
from .request import ForgetRequest

Metrics = Dict[str, Any]


class TaskEvaluator:
    """Base class of task evaluators.

    Class attributes:
        columns: the metric keys of the report's paper-style table, in order, with their titles.
    """
    columns: Dict[str, str] = {}

    def __init__(self, task):
        self.task = task

    def fingerprint(self) -> dict:
        """The evaluation settings that change the metrics (for the cached metrics of fixed models)."""
        return {}

    def seed(self, split: str) -> int:
        """The seed of every evaluation pass over ``split`` (see :mod:`unlearn.evaluation`): from the evaluation
        settings, the data and the split, not the weights, so all models of a table see the same images."""
        return derive_seed(self.fingerprint(), self.task.fingerprint(), split)

    def evaluate(self, network: nn.Module, request: ForgetRequest, original: Optional[Metrics] = None) -> Metrics:
        """The task's metrics of ``network``; ``original`` holds the original model's (None: not known)."""
        raise NotImplementedError

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str, request: ForgetRequest) -> float:
        """A single percent score on a dataset (the unlearning curves), evaluated under ``split``'s seed."""
        raise NotImplementedError

    def selection_metric(self) -> Tuple[Any, str]:
        """``(mmengine Evaluator, key)`` that picks the best epoch when training a reference model."""
        raise NotImplementedError

    def predict_for_metric(self, network: nn.Module, batch) -> list:
        """Outputs of ``network`` for :meth:`selection_metric`'s evaluator."""
        raise NotImplementedError

    def compare_to_retrain(self, metrics: Metrics, retrain: Metrics) -> Metrics:
        """Metrics that compare a model with the retrain oracle, added to its row (default: none)."""
        return {}

    def facts(self, rows: Dict[str, Metrics]) -> Dict[str, str]:
        """How the table's numbers were measured, one line each, shown under it in ``report.md``.
        ``rows``: the metrics of each model of the table (this run's method last)."""
        return {}

    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], rows: Dict[str, Metrics],
                      request: ForgetRequest) -> None:
        """The task's own figures of a run into ``folder`` (default: none); both dicts keyed by row name."""
