"""Training and test transforms of the official code (SPEC.md §4.2) and the normalisation constants.

The same pipeline takes PIL images (datasets read from disk) and ``uint8`` tensors ``[C, H, W]``
(in-memory datasets, which skip re-decoding images every epoch). Geometry runs on the ``uint8`` tensor,
then it becomes a float tensor in [0, 1] and is normalised.

Speed matters here: one CIFAR epoch is 50k calls. On ``uint8`` tensors the classic transforms cost
~90 us per 32 px training image against ~190 us for the ``v2`` ones (whose per-call dispatch dominates
at this size), but ``v2.Resize`` has the fast ``uint8`` bilinear kernel (32 -> 224 px: ~140 us against
~480 us), so the pipeline uses the classic transforms and ``v2.Resize``.
"""
from typing import Callable, Sequence, Union

import torch
from PIL import Image
from torch import Tensor
from torchvision import transforms as T
from torchvision.transforms import v2
from torchvision.transforms.functional import pil_to_tensor

# (mean, std) per channel of each dataset's training images in [0, 1] (SPEC.md §4.2).
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
TINY_IMAGENET_MEAN, TINY_IMAGENET_STD = (0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# scikit-learn's digits (scaled from 0..16 to 0..255) over the default stratified training split
# (test_fraction=0.2, split_seed=0); tests/test_cls_datasets.py recomputes them.
DIGITS_MEAN, DIGITS_STD = (0.3054,), (0.3760,)


def build_transforms(mean: Sequence[float],
                     std: Sequence[float],
                     image_size: int,
                     native_size: int,
                     augment: bool,
                     flip: bool = True,
                     pad: int = 4) -> Callable:
    """The official CIFAR / Tiny ImageNet pipeline (SPEC.md §4.2) for images of side ``native_size``.

    ``augment=True`` (training): RandomHorizontalFlip (if ``flip``), RandomCrop(native_size, padding=pad),
    Resize(image_size) when it differs from ``native_size`` (the paper upsamples 32 px CIFAR to 224 px
    for the torchvision ResNet-18), to float, Normalize. ``augment=False`` (test, or the official
    ``--wo_dataaug``): Resize if needed, to float, Normalize.
    """
    if len(mean) != len(std):
        raise ValueError(f'mean and std need one value per channel, got {len(mean)} and {len(std)}')
    if image_size < 1 or native_size < 1 or pad < 0:
        raise ValueError(f'need image_size, native_size >= 1 and pad >= 0; got {image_size}, {native_size}, '
                         f'{pad}')
    steps = [_to_uint8_tensor]
    if augment:
        if flip:
            steps.append(T.RandomHorizontalFlip())
        steps.append(T.RandomCrop(native_size, padding=pad))
    if image_size != native_size:
        steps.append(v2.Resize((image_size, image_size), antialias=True))
    steps += [T.ConvertImageDtype(torch.float32), T.Normalize(tuple(mean), tuple(std))]
    return T.Compose(steps)


def _to_uint8_tensor(image: Union[Image.Image, Tensor]) -> Tensor:
    """PIL image -> ``uint8 [C, H, W]``; tensors pass through (in-memory datasets already hold those)."""
    return image if isinstance(image, Tensor) else pil_to_tensor(image)
