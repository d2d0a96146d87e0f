"""Poisoned data of the backdoor task: which samples are poisoned, what stamping changes, the oracle's and the
defender's splits, and the input errors. Digits with a 2x2 BadNet towards class 1, 10% poisoned."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from tasks.backdoor.datasets import PoisonedData, poison_dataset
from tasks.backdoor.triggers import Attack, build_attack
from tasks.classification.datasets import ImageFiles, build_digits
from unlearn.errors import UnlearnError

TARGET = 1


def badnet(size: int = 2, image_size: int = 8, channels: int = 1) -> Attack:
    return build_attack(dict(type='BadNet', size=size, poison_rate=0.1, seed=0), image_size, channels)


def stacked_images(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


@pytest.fixture(scope='module')
def clean():
    return build_digits()


@pytest.fixture(scope='module')
def poisoned(clean) -> PoisonedData:
    return poison_dataset(clean, badnet(), TARGET)


@pytest.fixture(scope='module')
def footprint(poisoned) -> torch.Tensor:
    """Where the trigger's mask is non-zero, ``[H, W]``."""
    return torch.from_numpy(poisoned.attack.trigger.mask > 0)


@pytest.fixture(scope='module')
def stored_pattern(poisoned) -> torch.Tensor:
    """The trigger's pattern as a stored image, ``uint8 [C, H, W]``."""
    return torch.from_numpy(np.rint(255 * poisoned.attack.trigger.pattern)).to(torch.uint8).permute(2, 0, 1)


def test_poisons_the_exact_count_of_non_target_images(clean, poisoned):
    labels = np.asarray(clean.train_targets)
    assert len(poisoned.poisoned_indices) == round(0.1 * np.count_nonzero(labels != TARGET))
    assert not np.any(labels[poisoned.poisoned_indices] == TARGET)
    expected_labels = labels.copy()
    expected_labels[poisoned.poisoned_indices] = TARGET
    for split in (poisoned.train, poisoned.train_eval):
        assert split.targets == expected_labels.tolist()


def test_poisoned_items_differ_from_the_clean_ones_on_the_trigger_footprint_only(
        clean, poisoned, footprint, stored_pattern):
    poisoned_items, clean_items = stacked_images(poisoned.train_eval), stacked_images(clean.train_eval)
    stamped = poisoned.poisoned_indices
    outside = ~footprint
    assert torch.equal(poisoned_items[:, :, outside], clean_items[:, :, outside])
    normalised_pattern = clean.train_eval.transform(stored_pattern)
    assert torch.equal(poisoned_items[stamped][:, :, footprint],
                       normalised_pattern[:, footprint].expand(len(stamped), -1, -1))
    assert (poisoned_items[stamped] != clean_items[stamped]).any()  # stamping changed something


def test_unpoisoned_items_are_byte_identical_to_the_clean_ones(clean, poisoned):
    unpoisoned = poisoned.remain_indices
    assert torch.equal(poisoned.train_eval.images[unpoisoned], clean.train_eval.images[unpoisoned])
    assert torch.equal(stacked_images(poisoned.train_eval)[unpoisoned], stacked_images(clean.train_eval)[unpoisoned])


def test_train_is_train_eval_with_the_clean_augmentation(clean, poisoned):
    assert poisoned.train.images is poisoned.train_eval.images
    assert poisoned.train.transform is clean.train.transform
    assert poisoned.train_eval.transform is clean.train_eval.transform


def test_forget_eval_holds_the_poisoned_samples_labelled_target(poisoned):
    assert torch.equal(poisoned.train_forget_eval.images, poisoned.train_eval.images[poisoned.poisoned_indices])
    assert poisoned.train_forget_eval.targets == [TARGET] * len(poisoned.poisoned_indices)


def test_oracle_gets_every_clean_sample_but_the_poisoned_ones_at_every_trigger_size(clean):
    small, large = (poison_dataset(clean, badnet(size), TARGET) for size in (1, 3))
    everything = np.arange(len(clean.train_targets))
    assert np.array_equal(np.union1d(small.remain_indices, small.poisoned_indices), everything)
    assert not np.intersect1d(small.remain_indices, small.poisoned_indices).size
    assert np.array_equal(small.remain_indices, large.remain_indices)
    assert torch.equal(small.train_remain.images, large.train_remain.images)
    assert torch.equal(small.train_remain.images, clean.train.images[small.remain_indices])
    assert small.train_remain.targets == np.asarray(clean.train_targets)[small.remain_indices].tolist()
    assert small.train_remain.transform is clean.train.transform


def test_test_forget_is_every_non_target_test_image_stamped_and_labelled_target(
        clean, poisoned, footprint, stored_pattern):
    labels = np.asarray(clean.test_targets)
    non_target = np.flatnonzero(labels != TARGET)
    assert np.array_equal(poisoned.test_forget_indices, non_target)
    assert poisoned.test_forget.targets == [TARGET] * len(non_target)
    assert poisoned.test_forget_true_targets == labels[non_target].tolist()
    stamped, originals = poisoned.test_forget.images, clean.test.images[non_target]
    assert torch.equal(stamped[:, :, ~footprint], originals[:, :, ~footprint])
    assert torch.equal(stamped[:, :, footprint], stored_pattern[:, footprint].expand(len(non_target), -1, -1))
    assert poisoned.test_remain is clean.test


def test_defender_holds_a_seeded_share_of_clean_images(clean, poisoned):
    defender = poisoned.defender_indices
    assert len(defender) == round(0.05 * len(poisoned.remain_indices))
    assert not np.intersect1d(defender, poisoned.poisoned_indices).size
    assert torch.equal(poisoned.defender.images, clean.train.images[defender])
    assert poisoned.defender.targets == np.asarray(clean.train_targets)[defender].tolist()
    assert np.array_equal(poison_dataset(clean, badnet(), TARGET).defender_indices, defender)
    assert not np.array_equal(poison_dataset(clean, badnet(), TARGET, defense_seed=1).defender_indices, defender)


def test_defender_pixels_are_the_unnormalised_images(clean, poisoned):
    pixels = poisoned.defender_pixels()
    assert pixels.dtype == torch.float32 and pixels.shape == poisoned.defender.images.shape
    assert 0 <= pixels.min() and pixels.max() <= 1
    assert torch.equal(pixels, poisoned.defender.images.float() / 255)
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in (clean.mean, clean.std))
    assert torch.allclose(stacked_images(poisoned.defender) * std + mean, pixels, atol=1e-6)


def test_refuses_images_read_from_disk(clean):
    from_disk = replace(clean, train=ImageFiles([('train/0/0.png', 0)], clean.train.transform))
    with pytest.raises(UnlearnError, match=r'the train split \(ImageFiles\) is not held in memory.*in_memory=True'):
        poison_dataset(from_disk, badnet(), TARGET)


@pytest.mark.parametrize('clean_fraction', [0.0, 1.0, -0.1])
def test_refuses_a_clean_fraction_outside_0_1(clean, clean_fraction):
    with pytest.raises(UnlearnError, match=r'clean_fraction .* is outside \(0, 1\)'):
        poison_dataset(clean, badnet(), TARGET, clean_fraction=clean_fraction)


def test_refuses_a_defender_with_fewer_than_10_non_target_images(clean):
    with pytest.raises(UnlearnError, match='fewer than the 10 trigger recovery needs: raise task.defense'):
        poison_dataset(clean, badnet(), TARGET, clean_fraction=0.005)


@pytest.mark.parametrize('image_size, channels', [(16, 1), (8, 3)])
def test_refuses_a_trigger_that_does_not_fit_the_images_before_poisoning(clean, image_size, channels):
    trigger = badnet(image_size=image_size, channels=channels).trigger
    unusable_rate = Attack(trigger, poison_rate=2.0, seed=0)  # would fail later, when poisoning
    with pytest.raises(UnlearnError, match='stored images are 8x8 with 1: build the attack with image_size=8, '
                                           'channels=1'):
        poison_dataset(clean, unusable_rate, TARGET)


@pytest.mark.parametrize('before, corner', [(False, 'right'), (True, 'left')])
def test_the_forget_set_stamps_after_augmentation_or_as_the_attack_does(before, corner):
    """After augmentation the recovered trigger stays where it was found; before it (as the attack stamps) a flip
    moves it to the mirrored corner, where a model trained with flips also learnt it."""
    import torchvision.transforms as T
    from tasks.backdoor.adapter import StampedImages
    from tasks.backdoor.triggers import badnet_trigger
    from tasks.classification.datasets import InMemoryImages
    mean, std = (0.5,), (0.25,)
    flip = T.Compose([T.RandomHorizontalFlip(p=1.0), T.ConvertImageDtype(torch.float32), T.Normalize(mean, std)])
    images = InMemoryImages(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), [3, 4], flip)
    stamped = StampedImages(images, badnet_trigger(8, 1, size=2, pattern='white'), 1, mean, std,
                            before_augmentation=before)
    image, label = stamped[0]
    white = (image[0] * std[0] + mean[0]) > 0.99
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[6:, 6:] = corner == 'right'
    expected[6:, :2] = corner == 'left'
    assert label == 1 and torch.equal(white, expected)
    assert stamped.images.targets == [3, 4], 'each image keeps its own label for the teacher'
