"""What every unlearning method shares: the data it may read, the teacher it needs, its training step.

A method is registered in :data:`unlearn.registry.METHODS` and built from ``method = dict(type=...)``.
It never opens a batch itself: it asks the task adapter for logits, labels and erase masks, so the
same method runs on classification logits, face-ID logits and segmentation maps.
"""
from typing import TYPE_CHECKING, Dict, Sequence

from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from unlearn.model import UnlearnModel


class UnlearningMethod:
    """Base class. Subclasses set the class attributes and implement :meth:`loss`.

    Class attributes:
        uses_remain_data: reads the remaining training data (the paper's grey rows). Forget-only
            methods are given no remain loader at all, so they cannot read it by accident.
        needs_teacher: the wrapper keeps a frozen copy of the original model as ``model.teacher``.
        trains: False for one-shot weight edits, which skip the training loop.
    """
    uses_remain_data: bool = False
    needs_teacher: bool = False
    trains: bool = True

    def setup(self, model: 'UnlearnModel') -> None:
        """Called once before training (e.g. draw fixed random labels, compute a saliency mask)."""

    def loss(self, model: 'UnlearnModel', batch: Sequence) -> Dict[str, Tensor]:
        """One training step's losses on a forget batch; summed by mmengine's ``parse_losses``."""
        raise NotImplementedError(f'{type(self).__name__} does not define a training loss')

    def finalize(self, model: 'UnlearnModel') -> None:
        """Called once after training (e.g. prune Boundary Expand's extra class)."""

    def describe(self) -> str:
        data = 'forget + remain data' if self.uses_remain_data else 'forget data only'
        return f'{type(self).__name__} ({data})'
