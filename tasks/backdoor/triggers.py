"""Backdoor triggers and all-to-one poisoning, as BackdoorBox and BackdoorBench build them.

A trigger is a mask ``m`` (``[H, W]``) and a pattern ``p`` (``[H, W, C]``), both in [0, 1]; a triggered image is
``(1 - m) * x + m * p``. Poisoned training images are stamped on the stored ``uint8`` image, before augmentation
(BackdoorBox), and rounded back to ``uint8``; a recovered trigger is stamped on augmented float images in [0, 1].
An attack config names its trigger builder (``TRIGGERS``) and how many samples carry it:
``attack = dict(type='BadNet', size=3, position='bottom_right', pattern='white', poison_rate=0.1, seed=0)``.
"""
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
import torch
from mmengine.registry import Registry
from torch import Tensor

from unlearn.errors import UnlearnError

#: Trigger builders: ``attack = dict(type='BadNet', ...)``; each takes ``image_size`` and ``channels`` first. In the
#: core's scope, as ``unlearn.registry``'s: under the package's own, mmengine warns on every build that it finds no
#: ``tasks.registry`` module (a second line under a command-line error).
TRIGGERS = Registry('backdoor trigger', scope='unlearn')

#: Corner or centre of the image where a BadNet patch sits, as (row, column) of its top-left pixel.
BADNET_POSITIONS = {
    'top_left': lambda image_size, size: (0, 0),
    'top_right': lambda image_size, size: (0, image_size - size),
    'bottom_left': lambda image_size, size: (image_size - size, 0),
    'bottom_right': lambda image_size, size: (image_size - size, image_size - size),
    'center': lambda image_size, size: ((image_size - size) // 2, (image_size - size) // 2),
}
BADNET_PATTERNS = ('checkerboard', 'white', 'random')


def stamp(images, mask, pattern):
    """``(1 - mask) * images + mask * pattern``: the trigger formula, for any arrays or tensors that broadcast."""
    return (1 - mask) * images + mask * pattern


@dataclass(frozen=True)
class Trigger:
    """A mask ``[H, W]`` and a pattern ``[H, W, C]``, float64 in [0, 1]: where the trigger is and what it shows."""

    mask: np.ndarray
    pattern: np.ndarray

    def __post_init__(self) -> None:
        mask, pattern = np.asarray(self.mask, np.float64), np.asarray(self.pattern, np.float64)
        if mask.ndim != 2 or pattern.ndim != 3 or pattern.shape[:2] != mask.shape:
            raise UnlearnError(f'a trigger needs a mask [H, W] and a pattern [H, W, C] of the same H, W; got '
                               f'{mask.shape} and {pattern.shape}')
        if not (0 <= mask.min() and mask.max() <= 1 and 0 <= pattern.min() and pattern.max() <= 1):
            raise UnlearnError('a trigger\'s mask and pattern must lie in [0, 1]: scale a uint8 pattern by 1/255')
        object.__setattr__(self, 'mask', mask)
        object.__setattr__(self, 'pattern', pattern)

    def stamp_uint8(self, images: np.ndarray) -> np.ndarray:
        """Stored images ``uint8 [..., H, W, C]`` with the trigger, rounded back to ``uint8`` (poisoned samples)."""
        if images.dtype != np.uint8 or images.shape[-3:] != self.pattern.shape:
            raise ValueError(f'expected uint8 images [..., {", ".join(map(str, self.pattern.shape))}], '
                             f'got {images.dtype} {images.shape}')
        stamped = stamp(images.astype(np.float64), self.mask[:, :, None], 255.0 * self.pattern)
        return np.rint(stamped).astype(np.uint8)

    def stamp_tensor(self, images: Tensor) -> Tensor:
        """Float images ``[N, C, H, W]`` in [0, 1] pixel space with the trigger, on their device and dtype."""
        mask = torch.as_tensor(self.mask, dtype=images.dtype, device=images.device)
        pattern = torch.as_tensor(self.pattern, dtype=images.dtype, device=images.device).permute(2, 0, 1)
        return stamp(images, mask, pattern)

    def footprint_change(self, images: np.ndarray) -> np.ndarray:
        """How much stamping changes each of ``uint8 [..., H, W, C]`` images where the trigger sits: the mean of
        ``|stamped - x| = m * |p - x|`` over the channels and the pixels the mask covers (``m > 0``), in [0, 1].
        Near 0 the triggered image is its clean image (a white patch on an already white corner): no model can
        tell them apart."""
        if images.dtype != np.uint8 or images.shape[-3:] != self.pattern.shape:
            raise ValueError(f'expected uint8 images [..., {", ".join(map(str, self.pattern.shape))}], '
                             f'got {images.dtype} {images.shape}')
        difference = np.abs(self.pattern - images / 255.0).mean(axis=-1)
        return (difference * self.mask).sum(axis=(-2, -1)) / np.count_nonzero(self.mask)

    @property
    def l1_norm(self) -> float:
        """``||m||_1``: the size Neural Cleanse compares between classes."""
        return float(self.mask.sum())


def _random_image(image_size: int, channels: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((image_size, image_size, channels))


@TRIGGERS.register_module(name='BadNet')
def badnet_trigger(image_size: int, channels: int, size: int = 3, position: str = 'bottom_right',
                   pattern: str = 'checkerboard', seed: int = 0) -> Trigger:
    """A ``size`` x ``size`` patch (BadNets, Gu et al. 2017): mask 1 on the patch, 0 elsewhere.

    Args:
        image_size: side of the (square) images the trigger is stamped on.
        channels: C of the images.
        size: side of the patch in pixels.
        position: one of ``BADNET_POSITIONS``.
        pattern: ``'checkerboard'`` (white where row + column of the patch is even, black elsewhere, every
            channel), ``'white'``, or ``'random'`` (uniform in [0, 1] per pixel and channel, drawn from ``seed``).
        seed: the random pattern's seed.
    """
    if not isinstance(size, int) or not 1 <= size <= image_size:
        raise UnlearnError(f'BadNet trigger size {size!r} does not fit the {image_size}x{image_size} images: set '
                           f'attack.size to a whole number from 1 to {image_size}')
    if position not in BADNET_POSITIONS:
        raise UnlearnError(f'unknown BadNet position {position!r}: use one of {", ".join(BADNET_POSITIONS)}')
    if pattern not in BADNET_PATTERNS:
        raise UnlearnError(f'unknown BadNet pattern {pattern!r}: use one of {", ".join(BADNET_PATTERNS)}')
    top, left = BADNET_POSITIONS[position](image_size, size)
    patch = (slice(top, top + size), slice(left, left + size))
    mask = np.zeros((image_size, image_size))
    mask[patch] = 1.0
    if pattern == 'random':
        full_pattern = _random_image(image_size, channels, seed)
        full_pattern[mask == 0] = 0.0
    else:
        full_pattern = np.zeros((image_size, image_size, channels))
        rows, columns = np.indices((size, size))
        full_pattern[patch] = ((rows + columns) % 2 == 0)[:, :, None] if pattern == 'checkerboard' else 1.0
    return Trigger(mask, full_pattern)


@TRIGGERS.register_module(name='Blend')
def blend_trigger(image_size: int, channels: int, alpha: float = 0.1,
                  pattern: Union[str, Sequence] = 'random', seed: int = 0) -> Trigger:
    """A whole image blended in at opacity ``alpha`` (Blended, Chen et al. 2017): mask ``alpha`` everywhere.

    Args:
        image_size, channels: the images' side and C.
        alpha: the blend's opacity, in (0, 1].
        pattern: ``'random'`` (uniform noise in [0, 1] drawn from ``seed``) or an image ``[H, W, C]`` in [0, 1].
        seed: the random pattern's seed.
    """
    if not 0 < alpha <= 1:
        raise UnlearnError(f'Blend alpha {alpha!r} is outside (0, 1]: set attack.alpha to the trigger\'s opacity, '
                           'e.g. 0.1')
    if isinstance(pattern, str):
        if pattern != 'random':
            raise UnlearnError(f"unknown Blend pattern {pattern!r}: use 'random' or an image [H, W, C] in [0, 1]")
        pattern = _random_image(image_size, channels, seed)
    elif np.shape(pattern) != (image_size, image_size, channels):
        raise UnlearnError(f'Blend pattern of shape {np.shape(pattern)} does not fit the {image_size}x{image_size} '
                           f'{channels}-channel images: give an image [H, W, C] of their size')
    return Trigger(np.full((image_size, image_size), float(alpha)), pattern)


@dataclass(frozen=True)
class Attack:
    """An all-to-one poisoning attack: a trigger, and the share of non-target training samples that carry it."""

    trigger: Trigger
    poison_rate: float
    seed: int

    def poison_indices(self, labels: Sequence[int], target: int) -> np.ndarray:
        """The training samples this attack poisons towards ``target`` (``poison_indices``)."""
        return poison_indices(labels, target, self.poison_rate, self.seed)


def build_attack(cfg: dict, image_size: int, channels: int) -> Attack:
    """The attack a config describes.

    ``poison_rate`` (default 0.1, BackdoorBox's and BackdoorBench's) says how many samples are poisoned and is
    kept out of the trigger builder; every other key is the builder's. ``seed`` (default 0) is shared: it draws
    a random pattern and chooses the poisoned samples.
    """
    trigger_cfg = dict(cfg)
    poison_rate = trigger_cfg.pop('poison_rate', 0.1)
    seed = trigger_cfg.setdefault('seed', 0)
    trigger = TRIGGERS.build(trigger_cfg, default_args=dict(image_size=image_size, channels=channels))
    return Attack(trigger, poison_rate, seed)


def poison_indices(labels: Sequence[int], target: int, poison_rate: float, seed: int) -> np.ndarray:
    """Sorted indices of the samples to poison: ``round(poison_rate * n)`` of the ``n`` non-target samples.

    All-to-one: a target-class sample is never chosen (its label would not change). The choice depends only on
    the labels, ``target``, ``poison_rate`` and ``seed`` (a numpy ``Generator``), not on the trigger, so the
    same samples are poisoned for every trigger size and the oracle's training set does not change with it.
    """
    labels = np.asarray(labels)
    if not 0 < poison_rate < 1:
        raise UnlearnError(f'poison_rate {poison_rate!r} is outside (0, 1): set attack.poison_rate to the share of '
                           'non-target training samples to poison, e.g. 0.1')
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target <= labels.max():
        raise UnlearnError(f'backdoor target {target!r} is not a class of the training labels (0 to '
                           f'{labels.max()}): set forget_classes to the attack\'s target class')
    candidates = np.flatnonzero(labels != target)
    count = int(round(poison_rate * len(candidates)))
    if count == 0:
        raise UnlearnError(f'poison_rate {poison_rate} of {len(candidates)} non-target samples poisons none: raise '
                           'attack.poison_rate')
    return np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False))
