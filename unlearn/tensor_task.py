"""The adapter of the plainest task: batches ``(inputs, labels, ...)`` and a network that maps inputs to ``[N, K]``
logits. The Python API (:func:`unlearn.unlearn`) runs on it as it is; image classification builds on it."""
from typing import Callable, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from .adapter import TaskAdapter
from .capabilities import PixelImages, Relabelling, SampleLabels
from .errors import UnlearnError
from .request import ForgetRequest


class Relabelled(Dataset):
    """Items ``(inputs, relabel(i, label))`` of an ``(inputs, label)`` dataset, e.g. fixed random labels."""

    def __init__(self, dataset: Dataset, relabel: Callable[[int, int], int]):
        self.dataset, self.relabel = dataset, relabel

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple:
        inputs, label = self.dataset[index][:2]
        return inputs, int(self.relabel(index, int(label)))


class TensorTask(TaskAdapter, Relabelling, SampleLabels):
    """Batches whose first two entries are the inputs and the integer labels; logits ``network(inputs)``.

    Args:
        class_names: the K classes, in index order.
        num_workers: dataloader workers (0 = in the main process).
    """

    def __init__(self, class_names: Sequence[str], num_workers: int = 0):
        self.class_names = list(class_names)
        self.num_workers = num_workers

    def classifier(self, network: nn.Module) -> nn.Module:
        """The last ``nn.Linear`` with K outputs (``fc`` of ResNets, ``logits`` of facenet's network, ...)."""
        heads = [m for m in network.modules() if isinstance(m, nn.Linear) and m.out_features == self.num_classes]
        if not heads:
            raise UnlearnError(f'{type(network).__name__} has no nn.Linear layer with {self.num_classes} outputs '
                               'to serve as its classifier')
        return heads[-1]

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        return dict(dataset=dataset, batch_size=batch_size, num_workers=self.num_workers,
                    persistent_workers=self.num_workers > 0,
                    sampler=dict(type='DefaultSampler', shuffle=shuffle),
                    collate_fn=dict(type='default_collate'))

    def logits(self, network: nn.Module, batch) -> Tensor:
        return network(batch[0])

    def labels(self, batch) -> Tensor:
        return batch[1]

    def erase_mask(self, batch, request: ForgetRequest, all_forget_classes: bool = False) -> Tensor:
        """The sample's own label (the official DELETE), or with ``all_forget_classes`` every forget class."""
        mask = F.one_hot(batch[1], self.num_classes).bool()
        if all_forget_classes:
            mask[:, list(request.forget_classes)] = True
        return mask

    def supervised_loss(self, network: nn.Module, batch) -> Tensor:
        return F.cross_entropy(network(batch[0]), batch[1])

    def relabel(self, dataset: Dataset, relabel: Callable[[int, int], int], request: ForgetRequest) -> Dataset:
        """Every item's label (the forget data holds forget samples only)."""
        return Relabelled(dataset, relabel)


class TensorImages(PixelImages):
    """Pixel-space images of ``(images, labels, ...)`` batches; a subclass says how they were normalised
    (``pixel_normalization``)."""

    def images(self, batch) -> Tensor:
        return batch[0]

    def with_images(self, batch, images: Tensor) -> list:
        return [images, *batch[1:]]


def labels_in(labels: Tensor, classes: List[int]) -> Tensor:
    """Which entries of ``labels`` are one of ``classes`` (the usual ``is_forget``: by label)."""
    return torch.isin(labels, torch.as_tensor(classes, device=labels.device))
