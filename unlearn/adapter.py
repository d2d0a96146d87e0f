"""The interface between the task-agnostic core and a task (classification, segmentation, ...).

An adapter is the only place that knows what a "class" is for its task: it owns the data, splits it by
forget classes, and maps a network's output for a batch onto the class dimension. Methods and the loss
core see tensors only.
"""
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from torch import Tensor, nn
from torch.utils.data import Dataset

from .errors import UnlearnError
from .evaluation import derive_seed

ClassSpec = Union[int, str]


@dataclass
class Splits:
    """The datasets of one forget request (SPEC.md §4.1).

    ``train_*`` use the training transform: they are what methods train on. ``*_eval`` are what Acc_f /
    Acc_r and the MIA are measured on: augmented by default as in the official code, or clean.
    ``train_*_clean`` are the training images without augmentation, for methods whose authors train on them
    (SCRUB); None where a task has none.
    """
    train: Dataset
    train_forget: Dataset
    train_remain: Dataset
    train_forget_eval: Dataset
    train_remain_eval: Dataset
    test: Dataset
    test_forget: Dataset
    test_remain: Dataset
    train_forget_clean: Optional[Dataset] = None
    train_remain_clean: Optional[Dataset] = None


class TaskAdapter:
    """Base class of task adapters; subclasses fill in the data, network and per-batch mappings."""

    class_names: List[str]
    #: Top-level config keys the task reads besides ``task`` (e.g. mmseg's ``train_dataloader``), with what
    #: they are: the config check accepts them and they are passed to the adapter's constructor.
    config_keys: Dict[str, str] = {}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def resolve_forget_classes(self, spec: Union[ClassSpec, Sequence[ClassSpec], None]) -> List[int]:
        """Turn ``forget_classes`` (names and/or indices) into sorted class indices, or say what is wrong."""
        if spec is None or (isinstance(spec, (list, tuple)) and len(spec) == 0):
            raise UnlearnError(f'forget_classes is empty: name the classes to forget, e.g. '
                               f'forget_classes = [{self.class_names[0]!r}] or [0]')
        items = [spec] if isinstance(spec, (int, str)) else list(spec)
        indices = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise UnlearnError(f'forget_classes entry {item!r} must be a class name or an index')
            if isinstance(item, int):
                if not 0 <= item < self.num_classes:
                    raise UnlearnError(f'forget class index {item} is out of range: this dataset has '
                                       f'{self.num_classes} classes (0..{self.num_classes - 1})')
                index = item
            elif item in self.class_names:
                index = self.class_names.index(item)
            else:
                close = difflib.get_close_matches(item, self.class_names, n=3)
                hint = f'did you mean {close}?' if close else f'known classes: {self.class_names[:20]}'
                raise UnlearnError(f'unknown class name {item!r} in forget_classes ({hint})')
            if index in indices:
                raise UnlearnError(f'forget class {item!r} is listed twice in forget_classes')
            indices.append(index)
        if len(indices) == self.num_classes:
            raise UnlearnError(f'forget_classes erases every one of the {self.num_classes} classes: '
                               'nothing would remain to predict; keep at least one class')
        return sorted(indices)

    def forget_class_names(self, forget_classes: Sequence[int]) -> List[str]:
        return [self.class_names[i] for i in forget_classes]

    # --- what subclasses provide -------------------------------------------------------------------
    def fingerprint(self) -> Dict[str, Any]:
        """Everything about the data that determines a trained model (for the checkpoint cache key)."""
        raise NotImplementedError

    def evaluation_fingerprint(self) -> Dict[str, Any]:
        """The evaluation settings that change the metrics (for the cached metrics of fixed models)."""
        raise NotImplementedError

    def evaluation_seed(self, split: str) -> int:
        """The seed of every evaluation pass over ``split`` (see :mod:`unlearn.evaluation`): from the evaluation
        settings, the data and the split, not the weights, so all models of a table see the same images."""
        return derive_seed(self.evaluation_fingerprint(), self.fingerprint(), split)

    def build_network(self, model_cfg: dict) -> nn.Module:
        raise NotImplementedError

    def build_splits(self, forget_classes: Sequence[int]) -> Splits:
        raise NotImplementedError

    def data_preprocessor(self, network: nn.Module) -> Optional[nn.Module]:
        """What turns a collated batch into the network's input on the device, once per training step
        (mmengine's ``data_preprocessor``; e.g. mmseg's normalise-and-pad). None: only move it to the device."""
        return None

    def check_method(self, method) -> None:
        """Raise :class:`UnlearnError` if ``method`` is not defined for this task (default: all are)."""

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        """An mmengine dataloader config (DefaultSampler, so ``--launcher pytorch`` shards it)."""
        raise NotImplementedError

    def logits(self, network: nn.Module, batch) -> Tensor:
        """``[N, K, ...]`` class scores of ``network`` for a batch."""
        raise NotImplementedError

    def labels(self, batch) -> Tensor:
        raise NotImplementedError

    def erase_mask(self, batch, forget_classes: Sequence[int], all_forget_classes: bool = False) -> Tensor:
        """Boolean mask, broadcastable to the logits, of the logits DELETE erases."""
        raise NotImplementedError

    def valid_mask(self, batch) -> Optional[Tensor]:
        """Positions that count in the loss (None: all)."""
        return None

    def supervised_loss(self, network: nn.Module, batch) -> Tensor:
        raise NotImplementedError

    # --- what some baselines need; a task without it says so in one line, before any training ------
    def pixel_normalization(self) -> Tuple[Sequence[float], Sequence[float]]:
        """Per-channel ``(mean, std)`` that turn [0, 1] pixels into the network's inputs.

        Attacks bounded in pixel space (Boundary Shrink's FGSM, L2UL's PGD) undo it with the dataset's own
        statistics; a task whose inputs are not normalised images has none.
        """
        raise UnlearnError(f'the {type(self).__name__} task has no images in pixel space behind a per-channel '
                           'normalisation')

    def images(self, batch) -> Tensor:
        """The normalised images ``[N, C, H, W]`` of a batch (tasks that have :meth:`pixel_normalization`)."""
        raise NotImplementedError

    def with_images(self, batch, images: Tensor):
        """The same batch with other images in it (e.g. adversarial ones)."""
        raise NotImplementedError

    def relabel(self, dataset: Dataset, relabel: Callable[[int, Any], Any]) -> Dataset:
        """``dataset`` with item ``i``'s label ``y`` replaced by ``relabel(i, y)`` (fixed random labels)."""
        raise UnlearnError(f'the {type(self).__name__} task cannot replace the labels of its samples')

    def predict_for_metric(self, network: nn.Module, batch) -> list:
        """Outputs for the mmengine metric that selects the best original/retrain checkpoint."""
        raise NotImplementedError

    def selection_metric(self) -> dict:
        """``(metric config, key)`` used to pick the best epoch when training original/oracle."""
        raise NotImplementedError

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str) -> float:
        """A single percent score on a dataset (the unlearning curves), evaluated under ``split``'s seed."""
        raise NotImplementedError

    def evaluate(self, network: nn.Module, splits: Splits,
                 original: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The task's metrics on every split; ``original`` holds the original model's metrics."""
        raise NotImplementedError

    def report_columns(self) -> List[str]:
        """Metric keys shown, in order, in the report's paper-style table."""
        raise NotImplementedError

    def compare_to_retrain(self, metrics: Dict[str, Any], retrain: Dict[str, Any]) -> Dict[str, Any]:
        """Metrics that compare a model with the retrain oracle, added to its row (default: none)."""
        return {}

    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], metrics: Dict[str, Dict[str, Any]],
                      splits: Splits) -> None:
        """The task's own figures of a run into ``folder`` (e.g. predictions side by side; default: none)."""

    def report_facts(self, rows: Dict[str, Dict[str, Any]]) -> Dict[str, str]:
        """How the table's numbers were measured, one line each, shown under it in ``report.md``.

        ``rows``: the metrics of each model of the table (Original, Retrain, this run's method last)."""
        return {}
