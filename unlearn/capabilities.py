"""What only some methods need from a task, as small protocols a task adapter inherits when it has them.

A method lists the protocols it needs in ``requires``; before anything is trained the core refuses, in one
line, a task that does not inherit one of them (:func:`check_capabilities`). No list of method names exists
anywhere: a new task gets every method whose needs it meets.
"""
from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, Sequence, Tuple

from torch import Tensor
from torch.utils.data import Dataset

from .errors import UnlearnError


class PixelImages(ABC):
    """Images in [0, 1] pixel space behind a per-channel normalisation: attacks bounded in pixel space
    (Boundary Shrink's FGSM, L2UL's PGD) undo it with the dataset's own statistics."""
    provides = 'images in pixel space behind a per-channel normalisation'

    @abstractmethod
    def pixel_normalization(self) -> Tuple[Sequence[float], Sequence[float]]:
        """Per-channel ``(mean, std)`` that turn [0, 1] pixels into the network's inputs."""

    @abstractmethod
    def images(self, batch) -> Tensor:
        """The normalised images ``[N, C, H, W]`` of a batch."""

    @abstractmethod
    def with_images(self, batch, images: Tensor):
        """The same batch with other images in it (e.g. adversarial ones)."""


class Relabelling(ABC):
    """Replacing the labels of samples (Random Label, SalUn: fixed random labels)."""
    provides = 'replacing the labels of its samples'

    @abstractmethod
    def relabel(self, dataset: Dataset, relabel: Callable[[int, Any], Any], request) -> Dataset:
        """``dataset`` with item ``i``'s label ``y`` of what ``request`` forgets replaced by ``relabel(i, y)``."""


class SampleLabels(ABC):
    """One class label per sample and ``[N, K]`` logits: per-sample statistics (Fisher's per-class gradients,
    the influence function's per-sample gradients, attacks' neighbour classes) are defined on them."""
    provides = 'one class label per sample'


class Pretraining(ABC):
    """A pretraining stage the reference models start from (:class:`unlearn.request.PretrainStage`)."""
    provides = 'a pretraining stage'

    @abstractmethod
    def pretrain_stage(self, cfg):
        """The stage this config asks for (its data, recipe and, if the user has one, the pretrained file)."""


class ExportsModel(ABC):
    """Writing the unlearned model in the format of the task's own library (e.g. mmseg's checkpoint and config),
    beside the run's ``unlearned.pth``."""
    provides = "the unlearned model in its library's own format"

    @abstractmethod
    def export(self, network, folder, cfg) -> Dict[str, str]:
        """Write ``network`` (and what loads it) into ``folder``; return ``{file name: sha256}``."""


def check_capabilities(task, method) -> None:
    """Refuse, in one line, a task that lacks something ``method`` requires."""
    for capability in method.requires:
        if not isinstance(task, capability):
            raise UnlearnError(f'{type(method).__name__} needs {capability.provides}, which the '
                               f'{type(task).__name__} task does not provide')
