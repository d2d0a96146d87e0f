"""The forget request: the one object that says what is forgotten, built by the task.

A task builds it from the config (``task.forget_request(cfg)``), and once more from the original model when
what is forgotten depends on it (``task.forget_request(cfg, original=network)``, e.g. a trigger recovered
from a backdoored model). Methods, reference models and evaluators read it; nothing else carries the
forget classes.
"""
import difflib
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Union

from torch import Tensor
from torch.utils.data import Dataset

from .errors import UnlearnError

ClassSpec = Union[int, str]


@dataclass(frozen=True)
class ReferenceData:
    """What a reference model (the original, the retrain oracle) trains on, and the split its best epoch is
    chosen on (the official code selects on a test split, SPEC.md §4.4).

    ``fingerprint``: what determines ``train`` when it is less than the task's whole fingerprint, for the model's
    cache key (a backdoor oracle trains on the clean images, whatever the trigger); None: the task's.
    """
    train: Dataset
    val: Dataset
    fingerprint: Optional[dict] = None


@dataclass(frozen=True)
class PretrainStage:
    """A pretraining stage on other classes (face recognition: identities disjoint from the finetuned ones) whose
    network the original model and the oracle start from, all but its classifier.

    Attributes:
        data: what the stage trains on, and the split its best epoch is chosen on.
        schedule: its recipe (a ``train_schedule``-like dict, with ``seed``).
        build_network: a freshly initialised network of the stage's classes.
        checkpoint: the user's pretrained file (None: train the stage once and cache it).
        load_checkpoint: loads ``checkpoint`` into a network of ``build_network`` (e.g. another library's key
            layout); raises :class:`UnlearnError` when it does not fit.
        fingerprint: what determines the stage's data, for its cache key.
    """
    data: ReferenceData
    schedule: dict
    build_network: Callable[[], Any]
    checkpoint: Optional[str]
    load_checkpoint: Callable[[Any, str], None]
    fingerprint: dict


@dataclass(frozen=True)
class ForgetRequest:
    """What is forgotten, and the data that forgets it and measures it (SPEC.md §4.1).

    Attributes:
        forget_classes, forget_names: the classes whose logits are erased (``forget_classes`` of the config).
        train_forget: what methods unlearn on (training transform).
        train_remain: the remaining training data a method may read ("(R)" methods); None: there is none.
        train_forget_clean, train_remain_clean: the same images without augmentation (SCRUB's authors
            train on them); None where the task has none.
        train_forget_eval, train_remain_eval: what Acc_f / Acc_r and the MIA are measured on.
        test_forget, test_remain: the test splits that measure forgetting and keeping.
        test: the whole test set, for metrics over all of it (segmentation's IoU, feature plots); None: none.
        original_data: how the original model is trained.
        oracle_data: how the retrain oracle is trained; None: the task has no oracle.
        is_forget: for methods that mix data, which samples (or pixels) of a batch are forget samples.
    """
    forget_classes: List[int]
    forget_names: List[str]
    train_forget: Dataset
    train_remain: Optional[Dataset]
    train_forget_eval: Dataset
    train_remain_eval: Dataset
    test_forget: Dataset
    test_remain: Dataset
    original_data: ReferenceData
    oracle_data: Optional[ReferenceData]
    is_forget: Callable[[Any], Tensor]
    test: Optional[Dataset] = None
    train_forget_clean: Optional[Dataset] = None
    train_remain_clean: Optional[Dataset] = None

    def preparation_s(self) -> float:
        """Wall time of the work that built this request from the original model (a trigger recovery; when read
        from a cache, the time it took when it ran): part of what unlearning costs."""
        return 0.0

    def fingerprint(self) -> dict:
        """What, beyond the forget classes and the task's data, changes the metrics measured on this request
        (the key of a reference model's cached metrics); nothing for a request fixed by the config."""
        return {}


def resolve_classes(class_names: Sequence[str], spec: Union[ClassSpec, Sequence[ClassSpec], None]) -> List[int]:
    """Turn ``forget_classes`` (names and/or indices) into sorted class indices, or say what is wrong."""
    num_classes = len(class_names)
    if spec is None or (isinstance(spec, (list, tuple)) and len(spec) == 0):
        raise UnlearnError(f'forget_classes is empty: name the classes to forget, e.g. '
                           f'forget_classes = [{class_names[0]!r}] or [0]')
    items = [spec] if isinstance(spec, (int, str)) else list(spec)
    indices = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise UnlearnError(f'forget_classes entry {item!r} must be a class name or an index')
        if isinstance(item, int):
            if not 0 <= item < num_classes:
                raise UnlearnError(f'forget class index {item} is out of range: this dataset has '
                                   f'{num_classes} classes (0..{num_classes - 1})')
            index = item
        elif item in class_names:
            index = list(class_names).index(item)
        else:
            close = difflib.get_close_matches(item, class_names, n=3)
            hint = f'did you mean {close}?' if close else f'known classes: {list(class_names)[:20]}'
            raise UnlearnError(f'unknown class name {item!r} in forget_classes ({hint})')
        if index in indices:
            raise UnlearnError(f'forget class {item!r} is listed twice in forget_classes')
        indices.append(index)
    if len(indices) == num_classes:
        raise UnlearnError(f'forget_classes erases every one of the {num_classes} classes: '
                           'nothing would remain to predict; keep at least one class')
    return sorted(indices)
