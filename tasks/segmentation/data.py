"""mmseg datasets split by class: which images hold which classes, and subsets that hide some classes.

A split needs each training image's classes before any training, so the label maps are read once (no
image decoding, no pipeline). Subsets keep mmseg's pipeline and samples unchanged, except that pixels of
hidden classes become void (255): the retrain oracle never sees a forget pixel (SPEC.md §5.3).
"""
import copy
from typing import Callable, Sequence

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS
from PIL import Image
from torch.utils.data import Dataset

from unlearn.errors import UnlearnError

VOID = 255


def build_mmseg_dataset(cfg: dict):
    """An mmseg dataset from its config, with mmseg's registries whatever scope is current."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(copy.deepcopy(cfg))


def with_pipeline(dataset_cfg: dict, pipeline: list) -> dict:
    """The same data with another pipeline (e.g. training images through the test pipeline)."""
    cfg = copy.deepcopy(dataset_cfg)
    if 'datasets' in cfg:  # ConcatDataset (e.g. mmseg's VOC + SBD "aug" training set)
        cfg['datasets'] = [with_pipeline(d, pipeline) for d in cfg['datasets']]
    elif 'dataset' in cfg:  # RepeatDataset and other wrappers
        cfg['dataset'] = with_pipeline(cfg['dataset'], pipeline)
    else:
        cfg['pipeline'] = copy.deepcopy(pipeline)
    return cfg


def class_pixel_counts(dataset, num_classes: int) -> np.ndarray:
    """``[N, K]`` pixels of each class in each image's label map, void excluded, as mmseg loads labels."""
    counts = np.zeros((len(dataset), num_classes), np.int64)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        label = np.asarray(Image.open(info['seg_map_path']))
        if label.ndim != 2:
            raise UnlearnError(f"{info['seg_map_path']} is not a label map of class ids (shape {label.shape})")
        raw = np.bincount(label.ravel(), minlength=256)
        if info.get('reduce_zero_label'):  # as mmseg's LoadAnnotations: 0 becomes void, the rest shift down
            raw = np.concatenate([raw[1:VOID], [0, raw[VOID] + raw[0]]])
        mapped = raw.copy()
        for old, new in (info.get('label_map') or {}).items():  # then the label map, from the unmapped counts
            mapped[old] -= raw[old]
            mapped[new] += raw[old]
        raw = mapped
        if raw[num_classes:VOID].any():
            raise UnlearnError(f"{info['seg_map_path']} has label values >= {num_classes} other than void "
                               f'({VOID}): it does not match the dataset\'s {num_classes} classes')
        counts[i] = raw[:num_classes]
    return counts


class SegSubset(Dataset):
    """Some images of an mmseg dataset; pixels of ``void_classes`` are relabelled void (255).

    Args:
        dataset: an mmseg dataset (its pipeline ends in ``PackSegInputs``).
        indices: which of its images.
        void_classes: classes whose pixels are hidden from whatever reads this subset.
    """

    def __init__(self, dataset, indices: Sequence[int], void_classes: Sequence[int] = ()):
        self.dataset = dataset
        self.indices = list(indices)
        self.void_classes = torch.tensor(sorted(void_classes), dtype=torch.long)

    @property
    def metainfo(self) -> dict:
        """The dataset's classes and palette (mmengine's val loop hands them to ``IoUMetric``)."""
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        item = self.dataset[self.indices[i]]
        if len(self.void_classes):
            gt = item['data_samples'].gt_sem_seg.data
            gt[torch.isin(gt, self.void_classes.to(gt.dtype))] = VOID
        return item


class RelabelledForgetPixels(Dataset):
    """A dataset whose forget pixels in item ``i`` carry ``relabel(i, u)`` instead of their class ``u``
    (Random Label and SalUn per pixel: each forget image gets its own fixed random class)."""

    def __init__(self, dataset: Dataset, forget_classes: Sequence[int], relabel: Callable[[int, int], int]):
        self.dataset = dataset
        self.forget_classes = list(forget_classes)
        self.relabel = relabel

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        item = self.dataset[i]
        gt = item['data_samples'].gt_sem_seg.data
        original = gt.clone()
        for u in self.forget_classes:
            gt[original == u] = int(self.relabel(i, u))
        return item
