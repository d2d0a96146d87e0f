"""The backdoor task's data: a classification dataset poisoned by an all-to-one attack, split for training,
the oracle, the metrics and the defender.

Poisoned samples are stamped on the stored ``uint8`` image, before augmentation (BackdoorBox), so only datasets
held in memory as ``uint8`` (:class:`InMemoryImages`) can be poisoned. Every split is an ``InMemoryImages`` with
the clean data's transforms, whose ``images`` are the stored ``uint8 [N, C, H, W]`` and whose ``targets`` list
the labels in order, so a task can split by class without decoding images.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from tasks.classification.datasets import ClassificationData, InMemoryImages
from tasks.classification.transforms import build_transforms
from unlearn.errors import UnlearnError
from .triggers import Attack, Trigger

#: Trigger recovery scans need at least this many defender images outside the target class.
MIN_DEFENDER_NON_TARGET = 10


@dataclass
class PoisonedData:
    """The splits of a poisoned dataset; items are ``(float image [C, H, W], int label)``.

    Attributes:
        train: every training image, the poisoned ones stamped and labelled ``target``; augmented (trains the
            backdoored original).
        train_eval: the same images and labels, un-augmented.
        train_remain: the clean training images that were not poisoned, true labels, augmented (trains the
            oracle; it depends on the poisoned indices only, not on the trigger).
        train_forget_eval: the poisoned training images only, stamped, labelled ``target``, un-augmented.
        test_forget: every non-target test image with the true trigger, labelled ``target`` (accuracy = ASR);
            without an attack, as they are.
        test_forget_true_targets: the true label of each ``test_forget`` item (recovery accuracy, ``ra``).
        test_remain: the clean test set.
        defender: the defender's clean training images, true labels, un-augmented.
        poisoned_indices, remain_indices, defender_indices: sorted training-set indices of ``train_forget_eval``,
            ``train_remain`` and ``defender``.
        test_forget_indices: sorted test-set indices of ``test_forget`` (their clean images are in
            ``test_remain``).
        target: the attack's target class.
        attack: the attack that poisoned the data; None: a suspect model's data, nothing poisoned.
        class_names, mean, std, image_size: as in :class:`ClassificationData`.
    """

    train: InMemoryImages
    train_eval: InMemoryImages
    train_remain: InMemoryImages
    train_forget_eval: InMemoryImages
    test_forget: InMemoryImages
    test_forget_true_targets: list[int]
    test_remain: InMemoryImages
    defender: InMemoryImages
    poisoned_indices: np.ndarray
    remain_indices: np.ndarray
    defender_indices: np.ndarray
    test_forget_indices: np.ndarray
    target: int
    attack: Optional[Attack]
    class_names: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: int

    def defender_pixels(self) -> Tensor:
        """The defender's images as float ``[N, C, H, W]`` in [0, 1] at the model's input size: trigger recovery
        works in pixel space and normalises them itself with ``mean`` and ``std``."""
        images = self.defender.images
        channels, stored_size = images.shape[1], images.shape[-1]
        to_pixels = build_transforms((0.0,) * channels, (1.0,) * channels, self.image_size, stored_size,
                                     augment=False)
        return to_pixels(images)


def poison_dataset(data: ClassificationData, attack: Optional[Attack], target: int, clean_fraction: float = 0.05,
                   defense_seed: int = 0) -> PoisonedData:
    """``data`` poisoned by ``attack`` towards ``target``, with a defender's share of clean training images.

    ``attack=None``: the data of a suspect model, of which nobody knows what was poisoned; nothing is stamped
    and the poisoned splits are empty, but the defender's share is drawn as with an attack.

    The defender gets ``round(clean_fraction * n)`` of the ``n`` un-poisoned training images, drawn uniformly
    (not stratified by class, as BackdoorBench's random subset) with a numpy ``Generator`` seeded by
    ``defense_seed``, so the defender's data do not change with the attack's seed.
    """
    for name in ('train', 'train_eval', 'test'):
        if not isinstance(getattr(data, name), InMemoryImages):
            raise UnlearnError(f'a backdoor attack stamps the stored uint8 images, but the {name} split '
                               f'({type(getattr(data, name)).__name__}) is not held in memory: use a dataset that '
                               'is (Digits, CIFAR10, CIFAR100, SyntheticImages, or ImageFolderSplits with '
                               'in_memory=True)')
    train_images, test_images = data.train_eval.images, data.test.images
    stored_shape = (train_images.shape[2], train_images.shape[3], train_images.shape[1])
    trigger = None if attack is None else attack.trigger
    if trigger is not None and trigger.pattern.shape != stored_shape:
        height, width, channels = attack.trigger.pattern.shape
        raise UnlearnError(f'the trigger is {height}x{width} with {channels} channel(s) but the stored images are '
                           f'{stored_shape[0]}x{stored_shape[1]} with {stored_shape[2]}: build the attack with '
                           f'image_size={stored_shape[0]}, channels={stored_shape[2]}')
    if not 0 < clean_fraction < 1:
        raise UnlearnError(f'clean_fraction {clean_fraction!r} is outside (0, 1): set task.defense.clean_fraction '
                           'to the share of clean training images the defender holds, e.g. 0.05')

    train_labels, test_labels = np.asarray(data.train_targets), np.asarray(data.test_targets)
    poisoned = np.zeros(0, dtype=np.int64) if attack is None else attack.poison_indices(train_labels, target)
    remain = np.setdiff1d(np.arange(len(train_labels)), poisoned)
    defender = np.sort(np.random.default_rng(defense_seed).choice(
        remain, size=int(round(clean_fraction * len(remain))), replace=False))
    defender_non_target = int(np.count_nonzero(train_labels[defender] != target))
    if defender_non_target < MIN_DEFENDER_NON_TARGET:
        raise UnlearnError(f'the defender holds {defender_non_target} clean images outside the target class '
                           f'(clean_fraction {clean_fraction} of {len(remain)}), fewer than the '
                           f'{MIN_DEFENDER_NON_TARGET} trigger recovery needs: raise task.defense.clean_fraction')
    test_forget = np.flatnonzero(test_labels != target)

    poisoned_images = train_images.clone()
    poisoned_images[poisoned] = stamp_stored(train_images[poisoned], trigger)
    poisoned_labels = train_labels.copy()
    poisoned_labels[poisoned] = target
    augmented, plain = data.train.transform, data.train_eval.transform
    return PoisonedData(
        train=InMemoryImages(poisoned_images, poisoned_labels, augmented),
        train_eval=InMemoryImages(poisoned_images, poisoned_labels, plain),
        train_remain=InMemoryImages(train_images[remain], train_labels[remain], augmented),
        train_forget_eval=InMemoryImages(poisoned_images[poisoned], [target] * len(poisoned), plain),
        test_forget=InMemoryImages(stamp_stored(test_images[test_forget], trigger), [target] * len(test_forget),
                                   data.test.transform),
        test_forget_true_targets=test_labels[test_forget].tolist(),
        test_remain=data.test,
        defender=InMemoryImages(train_images[defender], train_labels[defender], plain),
        poisoned_indices=poisoned, remain_indices=remain, defender_indices=defender, test_forget_indices=test_forget,
        target=int(target), attack=attack, class_names=list(data.class_names), mean=data.mean, std=data.std,
        image_size=data.image_size)


def stamp_stored(images: Tensor, trigger: Optional[Trigger]) -> Tensor:
    """``uint8 [N, C, H, W]`` images with the trigger, through :meth:`Trigger.stamp_uint8`'s ``[..., H, W, C]``
    (None: as they are)."""
    if trigger is None:
        return images
    stamped = trigger.stamp_uint8(images.permute(0, 2, 3, 1).numpy())
    return torch.from_numpy(stamped).permute(0, 3, 1, 2).contiguous()
