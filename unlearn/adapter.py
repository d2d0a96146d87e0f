"""The interface between the task-agnostic core and a task (classification, segmentation, ...).

An adapter is the only place that knows what a "class" is for its task: it builds the network and the forget
request, and maps a network's output for a batch onto the class dimension. Methods and the loss core see
tensors only. What the adapter leaves out lives beside it: evaluation in the task's registered evaluator
(:mod:`unlearn.evaluator`), what only some baselines need in capability protocols (:mod:`unlearn.capabilities`).
"""
from typing import Dict, List, Optional

from torch import Tensor, nn
from torch.utils.data import Dataset

from .request import ForgetRequest


class TaskAdapter:
    """Base class of task adapters.

    Class attributes:
        class_names: the task's classes, in index order (set by the constructor).
        evaluator: the ``EVALUATORS`` type that scores this task's models (a config may name another with a
            top-level ``evaluator = dict(type=...)``).
        config_keys: top-level config keys the task reads besides ``task`` (e.g. mmseg's ``train_dataloader``),
            with what they are: the config check accepts them and they are passed to the constructor.
    """
    class_names: List[str]
    evaluator: str
    config_keys: Dict[str, str] = {}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> dict:
        """Everything about the data that determines a trained model (for the checkpoint cache key)."""
        raise NotImplementedError

    def forget_request(self, cfg, original: Optional[nn.Module] = None) -> ForgetRequest:
        """What the config asks to forget. Called before any training with ``original=None`` (every input is
        checked there), and again with the original model once it exists: a task whose request depends on
        that model (e.g. a recovered trigger) builds it then; the others return the same request."""
        raise NotImplementedError

    def build_network(self, model_cfg: dict) -> nn.Module:
        raise NotImplementedError

    def classifier(self, network: nn.Module) -> nn.Module:
        """The final layer that maps features to class logits (Table 3 freezes it; Boundary Expand widens it)."""
        raise NotImplementedError

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        """An mmengine dataloader config (DefaultSampler, so ``--launcher pytorch`` shards it)."""
        raise NotImplementedError

    def data_preprocessor(self, network: nn.Module) -> Optional[nn.Module]:
        """What turns a collated batch into the network's input on the device, once per training step
        (mmengine's ``data_preprocessor``; e.g. mmseg's normalise-and-pad). None: only move it to the device."""
        return None

    def logits(self, network: nn.Module, batch) -> Tensor:
        """``[N, K, ...]`` class scores of ``network`` for a batch."""
        raise NotImplementedError

    def labels(self, batch) -> Tensor:
        raise NotImplementedError

    def erase_mask(self, batch, request: ForgetRequest, all_forget_classes: bool = False) -> Tensor:
        """Boolean mask, broadcastable to the logits, of the logits DELETE erases."""
        raise NotImplementedError

    def valid_mask(self, batch) -> Optional[Tensor]:
        """Positions that count in the loss (None: all)."""
        return None

    def supervised_loss(self, network: nn.Module, batch) -> Tensor:
        raise NotImplementedError
