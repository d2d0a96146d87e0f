"""Classification datasets, each built from a config into one :class:`ClassificationData`.

``task.dataset = dict(type='CIFAR10', root='data/cifar10')`` names a builder registered in ``DATASETS``.
A builder returns the training images twice (augmented for training, un-augmented for evaluation), the
test images, the class names and every item's label, so the task adapter can split by class without
decoding a single image. Items are ``(float image tensor [C, H, W], int label)``.

Small datasets are held in memory as ``uint8 [N, C, H, W]`` (scikit-learn's digits, CIFAR, or any
image folder with ``in_memory=True``): an epoch then costs the transforms only, not JPEG decoding.
"""
import os
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms.functional import pil_to_tensor

from unlearn.registry import DATASETS
from .transforms import (CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, DIGITS_MEAN, DIGITS_STD,
                         IMAGENET_MEAN, IMAGENET_STD, TINY_IMAGENET_MEAN, TINY_IMAGENET_STD, build_transforms)

DIGIT_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']


@dataclass
class ClassificationData:
    """Everything a classification task needs from its data.

    Attributes:
        train: training images with the training (augmented) transform.
        train_eval: the same training images, same order, with the test transform (clean metrics on
            D_f / D_r; the official code evaluates those with augmentation, SPEC.md §7.2).
        test: test images with the test transform.
        class_names: name of each class index.
        train_targets: label of every ``train`` item, in order.
        test_targets: label of every ``test`` item, in order.
        mean, std: per-channel normalisation applied by the transforms (methods that work in pixel
            space, e.g. Boundary Shrink's attack, undo it).
        image_size: side in pixels of the images fed to the model.
    """

    train: Dataset
    train_eval: Dataset
    test: Dataset
    class_names: list[str]
    train_targets: list[int]
    test_targets: list[int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


class InMemoryImages(Dataset):
    """``uint8`` images ``[N, C, H, W]`` held in memory; item ``i`` is ``(transform(images[i]), label)``."""

    def __init__(self, images: Tensor, targets: Sequence[int], transform: Callable) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f'images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}')
        if len(images) != len(targets):
            raise ValueError(f'{len(images)} images but {len(targets)} targets')
        self.images, self.targets, self.transform = images, [int(t) for t in targets], transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.transform(self.images[index]), self.targets[index]


class ImageFiles(Dataset):
    """Images decoded from disk on every access, as RGB, resized to ``size`` x ``size`` if they differ."""

    def __init__(self, samples: Sequence[tuple[str, int]], transform: Callable,
                 size: Optional[int] = None) -> None:
        self.samples, self.transform, self.size = list(samples), transform, size
        self.targets = [int(t) for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path, target = self.samples[index]
        return self.transform(load_rgb(path, self.size)), target


def load_rgb(path: str, size: Optional[int] = None) -> Image.Image:
    """Decode an image as RGB (Tiny ImageNet has grayscale JPEGs), resized (bilinear) to a square side."""
    with Image.open(path) as image:
        image = image.convert('RGB')
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def _assemble(train_source: Callable[[Callable], Dataset], test_source: Callable[[Callable], Dataset],
              train_targets: Sequence[int], test_targets: Sequence[int], class_names: Sequence[str],
              mean: Sequence[float], std: Sequence[float], image_size: int, native_size: int,
              augment: bool, flip: bool = True, pad: int = 4) -> ClassificationData:
    """Give each split its transform: ``*_source(transform)`` builds a dataset over that split."""
    train_transform = build_transforms(mean, std, image_size, native_size, augment, flip=flip, pad=pad)
    test_transform = build_transforms(mean, std, image_size, native_size, augment=False)
    return ClassificationData(
        train=train_source(train_transform), train_eval=train_source(test_transform),
        test=test_source(test_transform), class_names=list(class_names),
        train_targets=[int(t) for t in train_targets], test_targets=[int(t) for t in test_targets],
        mean=tuple(mean), std=tuple(std), image_size=image_size)


@DATASETS.register_module(name='Digits')
def build_digits(image_size: int = 8, test_fraction: float = 0.2, split_seed: int = 0,
                 augment: bool = True) -> ClassificationData:
    """scikit-learn's 1,797 handwritten digits (8x8 grayscale, 10 classes): the embedded quick-start data.

    It ships inside scikit-learn, so the quick start needs no download. The train/test split is stratified
    and fixed by ``split_seed`` (1,437 / 360 by default); items keep the original dataset order. Pixels
    0..16 become ``uint8`` 0..255. Augmentation is a random crop with 1 px padding and no flip (digits
    are not mirror-symmetric). Normalised with the default training split's mean/std.

    Args:
        image_size: side fed to the model (resized from 8 if different).
        test_fraction: share of each class held out for testing.
        split_seed: seed of the stratified split.
        augment: False trains on un-augmented images (the official ``--wo_dataaug``).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f'test_fraction must be in (0, 1), got {test_fraction}')
    digits = load_digits()
    images = torch.from_numpy(np.rint(digits.images * (255.0 / 16.0))).to(torch.uint8).unsqueeze(1)
    labels = digits.target
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=test_fraction,
                                           stratify=labels, random_state=split_seed)
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    train_images, test_images = images[train_idx].contiguous(), images[test_idx].contiguous()
    train_targets, test_targets = labels[train_idx].tolist(), labels[test_idx].tolist()
    return _assemble(partial(InMemoryImages, train_images, train_targets),
                     partial(InMemoryImages, test_images, test_targets), train_targets, test_targets,
                     DIGIT_NAMES, DIGITS_MEAN, DIGITS_STD, image_size, native_size=8, augment=augment,
                     flip=False, pad=1)


def _load_torchvision_cifar(dataset_cls: type, name: str, folder: str, root: str, download: bool) -> tuple:
    try:
        train = dataset_cls(root, train=True, download=download)
        return train, dataset_cls(root, train=False, download=False)
    except (RuntimeError, OSError) as err:  # torchvision: RuntimeError when missing; URLError offline
        hint = f' (download failed: {err})' if download else ''
        raise FileNotFoundError(f'{name} not found under {root}: set task.dataset.root to the folder holding '
                                f'{folder}, or download=True when online{hint}') from err


def _build_cifar(dataset_cls: type, name: str, folder: str, root: str, image_size: int, download: bool,
                 augment: bool, mean: Sequence[float], std: Sequence[float]) -> ClassificationData:
    train, test = _load_torchvision_cifar(dataset_cls, name, folder, root, download)
    # torchvision holds the whole split as HWC uint8 numpy; keep it as CHW uint8 instead of PIL per item.
    train_images = torch.from_numpy(train.data).permute(0, 3, 1, 2).contiguous()
    test_images = torch.from_numpy(test.data).permute(0, 3, 1, 2).contiguous()
    return _assemble(partial(InMemoryImages, train_images, train.targets),
                     partial(InMemoryImages, test_images, test.targets), train.targets, test.targets,
                     train.classes, mean, std, image_size, native_size=32, augment=augment)


@DATASETS.register_module(name='CIFAR10')
def build_cifar10(root: str, image_size: int = 32, download: bool = False,
                  augment: bool = True) -> ClassificationData:
    """CIFAR-10 from torchvision (50k / 10k, 32 px, held in memory), with the official transforms.

    Args:
        root: folder holding ``cifar-10-batches-py``.
        image_size: side fed to the model: 32, or 224 for the paper's torchvision ResNet-18 (SPEC.md §4.2).
        download: fetch it into ``root`` if missing (needs the network).
        augment: False trains on un-augmented images (the official ``--wo_dataaug``).
    """
    from torchvision.datasets import CIFAR10
    return _build_cifar(CIFAR10, 'CIFAR-10', 'cifar-10-batches-py', root, image_size, download, augment,
                        CIFAR10_MEAN, CIFAR10_STD)


@DATASETS.register_module(name='CIFAR100')
def build_cifar100(root: str, image_size: int = 32, download: bool = False,
                   augment: bool = True) -> ClassificationData:
    """CIFAR-100 from torchvision (50k / 10k, 32 px, 100 fine classes, held in memory).

    Normalised with CIFAR-100's own statistics. (The official code normalises every CIFAR with CIFAR-10's
    constants, SPEC.md §4.2; the difference is below 0.02 per channel.)

    Args:
        root: folder holding ``cifar-100-python``.
        image_size: side fed to the model: 32, or 224 for the paper's torchvision ResNet-18.
        download: fetch it into ``root`` if missing (needs the network).
        augment: False trains on un-augmented images (the official ``--wo_dataaug``).
    """
    from torchvision.datasets import CIFAR100
    return _build_cifar(CIFAR100, 'CIFAR-100', 'cifar-100-python', root, image_size, download, augment,
                        CIFAR100_MEAN, CIFAR100_STD)


def _tiny_imagenet_names(root: str, wnids: Sequence[str]) -> list[str]:
    """First synonym of each wnid in ``words.txt`` (``'n01443537\\tgoldfish, Carassius auratus'``).

    Falls back to the wnids without ``words.txt``; a synonym shared by two classes gets its wnid appended
    so that every name still identifies one class.
    """
    path = os.path.join(root, 'words.txt')
    if not os.path.isfile(path):
        return list(wnids)
    words = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            wnid, _, text = line.rstrip('\n').partition('\t')
            words[wnid] = text.split(',')[0].strip()
    names = [words.get(w) or w for w in wnids]
    return [f'{n} ({w})' if names.count(n) > 1 else n for n, w in zip(names, wnids)]


@DATASETS.register_module(name='TinyImageNet')
def build_tiny_imagenet(root: str, image_size: int = 64, augment: bool = True) -> ClassificationData:
    """Tiny ImageNet (``tiny-imagenet-200``): 200 classes, 100k training and 10k validation images, 64 px.

    As in the official code (SPEC.md §4.1): ``train/<wnid>/images/*.JPEG`` is an ImageFolder over the
    sorted wnids, and ``val/images`` with labels from ``val/val_annotations.txt`` is the test set. Class
    names are the first synonym in ``words.txt`` (the wnids if it is absent). Images are read from disk.

    Args:
        root: the ``tiny-imagenet-200`` folder.
        image_size: side fed to the model: 64, or 224 for the paper's torchvision ResNet-18.
        augment: False trains on un-augmented images (the official ``--wo_dataaug``).
    """
    train_dir, annotations = os.path.join(root, 'train'), os.path.join(root, 'val', 'val_annotations.txt')
    if not os.path.isdir(train_dir) or not os.path.isfile(annotations):
        raise FileNotFoundError(f'Tiny ImageNet not found under {root}: set task.dataset.root to the '
                                'tiny-imagenet-200 folder (holding train/<wnid>/images/ and '
                                'val/val_annotations.txt)')
    wnids, class_to_idx = find_classes(train_dir)
    train_samples = make_dataset(train_dir, class_to_idx, extensions=IMG_EXTENSIONS)
    test_samples = []
    with open(annotations, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            fields = line.split('\t')
            if len(fields) < 2:
                continue
            if fields[1] not in class_to_idx:
                raise ValueError(f'{annotations}:{line_no}: class {fields[1]!r} has no folder in {train_dir}')
            test_samples.append((os.path.join(root, 'val', 'images', fields[0]), class_to_idx[fields[1]]))
    return _assemble(partial(ImageFiles, train_samples, size=64), partial(ImageFiles, test_samples, size=64),
                     [t for _, t in train_samples], [t for _, t in test_samples],
                     _tiny_imagenet_names(root, wnids), TINY_IMAGENET_MEAN, TINY_IMAGENET_STD, image_size,
                     native_size=64, augment=augment)


def _list_split(root: str, split_dir: str) -> tuple[list[str], list[tuple[str, int]]]:
    folder = os.path.join(root, split_dir)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} not found: set task.dataset.root to the folder '
                                f'holding {split_dir}/<class>/<image> (e.g. the output of prepare_data.py)')
    classes, class_to_idx = find_classes(folder)
    return classes, make_dataset(folder, class_to_idx, extensions=IMG_EXTENSIONS)


def _first_per_class(samples: Sequence[tuple[str, int]], count: int) -> list[tuple[str, int]]:
    """The first ``count`` samples of each class, in the listing's (class, file name) order."""
    seen: dict[int, int] = {}
    kept = []
    for sample in samples:
        seen[sample[1]] = seen.get(sample[1], 0) + 1
        if seen[sample[1]] <= count:
            kept.append(sample)
    return kept


def decode_all(samples: Sequence[tuple[str, int]], size: int) -> Tensor:
    """Decode every image once into ``uint8 [N, 3, size, size]`` (CIFAR-10's 60k JPEGs: 184 MB).

    torchvision's decoder reads CIFAR-10's JPEGs 2.5x faster than PIL (~3 s against ~8 s for 60k) with
    identical pixels; images it cannot decode, or that need resizing, go through :func:`load_rgb` so
    that the pixels equal the on-disk dataset's.
    """
    images = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    for i, (path, _) in enumerate(samples):
        try:
            image = decode_image(read_file(path), mode=ImageReadMode.RGB)
        except RuntimeError:  # a format torchvision.io does not read (BMP, TIFF, ...)
            image = None
        if image is None or image.shape[1:] != (size, size):
            image = pil_to_tensor(load_rgb(path, size))
        images[i] = image
    return images


@DATASETS.register_module(name='ImageFolderSplits')
def build_image_folder_splits(root: str, *, image_size: int, train_dir: str = 'train', test_dir: str = 'test',
                              native_size: Optional[int] = None, mean: Optional[Sequence[float]] = None,
                              std: Optional[Sequence[float]] = None, in_memory: bool = False,
                              augment: bool = True,
                              per_class: Optional[Sequence[int]] = None) -> ClassificationData:
    """Any pair of ImageFolder trees, ``root/<train_dir>/<class>/*`` and ``root/<test_dir>/<class>/*``.

    Classes are the sorted folder names and must be the same in both splits. Images are read as RGB and
    brought to ``native_size`` x ``native_size`` (only resized if they differ), augmented at that size
    with the official flip + crop(pad 4), then resized to ``image_size`` if that differs.

    Args:
        root: folder holding both splits, e.g. ``OUT/cifar10`` from ``prepare_data.py OUT cifar10``.
        image_size: side fed to the model.
        train_dir, test_dir: the two split folders under ``root``.
        native_size: side the images are stored at (default: ``image_size``).
        mean, std: per-channel normalisation (default: ImageNet's; set CIFAR-10's for CIFAR-10 JPEGs).
        in_memory: decode every image once into a ``uint8`` tensor instead of at every access.
        augment: False trains on un-augmented images (the official ``--wo_dataaug``).
        per_class: ``(train, test)``: keep only the first that many images of each class in each split (file
            name order), a class-balanced subset for runs that must take minutes (e.g. a speed race).
    """
    if per_class is not None and (not isinstance(per_class, (list, tuple)) or len(per_class) != 2 or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in per_class)):
        raise ValueError(f'per_class must be (train, test) image counts per class, both >= 1; got {per_class!r}')
    if (mean is None) != (std is None):
        raise ValueError('set both mean and std, or neither (ImageNet statistics)')
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if mean is None else (tuple(mean), tuple(std))
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f'images are read as RGB, so mean and std need 3 values, got {mean} and {std}')
    native_size = image_size if native_size is None else native_size
    train_classes, train_samples = _list_split(root, train_dir)
    test_classes, test_samples = _list_split(root, test_dir)
    if train_classes != test_classes:
        only_train = sorted(set(train_classes) - set(test_classes))
        only_test = sorted(set(test_classes) - set(train_classes))
        raise ValueError(f'class folders differ between {train_dir}/ and {test_dir}/ under {root}: '
                         f'only in {train_dir}: {only_train}, only in {test_dir}: {only_test}')
    if per_class is not None:
        train_samples, test_samples = _first_per_class(train_samples, per_class[0]), _first_per_class(
            test_samples, per_class[1])
    train_targets, test_targets = [t for _, t in train_samples], [t for _, t in test_samples]
    if in_memory:
        train_images = decode_all(train_samples, native_size)
        test_images = decode_all(test_samples, native_size)
        train_source = partial(InMemoryImages, train_images, train_targets)
        test_source = partial(InMemoryImages, test_images, test_targets)
    else:
        train_source = partial(ImageFiles, train_samples, size=native_size)
        test_source = partial(ImageFiles, test_samples, size=native_size)
    return _assemble(train_source, test_source, train_targets, test_targets, train_classes, mean, std,
                     image_size, native_size, augment=augment)


@DATASETS.register_module(name='SyntheticImages')
def build_synthetic_images(num_classes: int = 10, train_per_class: int = 500, test_per_class: int = 100,
                           image_size: int = 32, channels: int = 3, seed: int = 0) -> ClassificationData:
    """Random ``uint8`` images with balanced labels, like torchvision's ``FakeData`` but held in memory.

    For speed benchmarks and for smoke-testing large networks without a dataset: nothing here is
    learnable, so use it for timing, never for accuracy.
    """
    if num_classes < 2 or train_per_class < 1 or test_per_class < 1:
        raise ValueError('SyntheticImages needs num_classes >= 2 and at least one image per class and split')
    generator = torch.Generator().manual_seed(seed)

    def split(per_class: int):
        targets = [c for c in range(num_classes) for _ in range(per_class)]
        images = torch.randint(0, 256, (len(targets), channels, image_size, image_size), generator=generator,
                               dtype=torch.uint8)
        return images, targets

    (train_images, train_targets), (test_images, test_targets) = split(train_per_class), split(test_per_class)
    mean, std = (0.5,) * channels, (0.25,) * channels
    return _assemble(partial(InMemoryImages, train_images, train_targets),
                     partial(InMemoryImages, test_images, test_targets), train_targets, test_targets,
                     [f'class_{c}' for c in range(num_classes)], mean, std, image_size, native_size=image_size,
                     augment=True)
