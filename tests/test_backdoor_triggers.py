"""Backdoor triggers: the stamping formula and footprint, the builders, the poisoned samples and the input errors."""
import numpy as np
import pytest
import torch

from tasks.backdoor.triggers import (TRIGGERS, Trigger, badnet_trigger, blend_trigger, build_attack,
                                     poison_indices)
from unlearn.errors import UnlearnError

LABELS = np.repeat(np.arange(10), 30)  # 30 samples per class, 270 of them not of class 0


# --- stamping -------------------------------------------------------------------------------------

def test_uint8_stamp_is_the_formula_rounded():
    mask = np.array([[0.0, 0.25], [1.0, 0.5]])
    pattern = np.array([[0.0, 0.2], [1.0, 0.6]])[:, :, None]
    image = np.array([[10, 100], [7, 203]], np.uint8)[:, :, None]
    stamped = Trigger(mask, pattern).stamp_uint8(image)
    # (1 - m) x + m * 255 p: 10 | 75 + 12.75 = 87.75 | 255 | 101.5 + 76.5 = 178
    assert stamped.dtype == np.uint8
    assert stamped[:, :, 0].tolist() == [[10, 88], [255, 178]]


def test_footprint_change_is_how_far_the_stamp_moves_the_pixels_it_covers():
    white, checkerboard = badnet_trigger(4, 3, size=2, pattern='white'), badnet_trigger(4, 3, size=2)
    images = np.stack([np.full((4, 4, 3), value, np.uint8) for value in (255, 0, 51)])
    images[0, :2, :2] = 0  # a dark top-left corner, outside the patch: it does not count
    assert white.footprint_change(images) == pytest.approx([0.0, 1.0, 0.8])
    assert checkerboard.footprint_change(images) == pytest.approx([0.5, 0.5, 0.5])  # half white, half black
    blend = blend_trigger(4, 3, alpha=0.1, pattern=np.full((4, 4, 3), 0.6))
    # m |p - x| over the whole image: the first image's dark corner is a quarter of it
    assert blend.footprint_change(images) == pytest.approx([0.1 * (0.25 * 0.6 + 0.75 * 0.4), 0.1 * 0.6, 0.1 * 0.4])
    stamped = white.stamp_uint8(images)
    actual = np.abs(stamped.astype(float) - images)[:, 2:, 2:].mean(axis=(1, 2, 3)) / 255
    assert white.footprint_change(images) == pytest.approx(actual)
    with pytest.raises(ValueError, match='expected uint8 images'):
        white.footprint_change(images.astype(np.float32))


def test_tensor_stamp_is_the_formula():
    mask = np.array([[0.0, 0.25], [1.0, 0.5]])
    pattern = np.stack([np.full((2, 2), 0.2), np.full((2, 2), 0.8)], axis=2)  # [H, W, C], C = 2
    images = torch.tensor([[[[0.4, 0.4], [0.4, 0.4]], [[0.0, 1.0], [0.0, 1.0]]]])  # [1, C, H, W]
    stamped = Trigger(mask, pattern).stamp_tensor(images)
    expected = torch.tensor([[[[0.4, 0.35], [0.2, 0.3]], [[0.0, 0.95], [0.8, 0.9]]]])
    assert stamped.dtype == images.dtype and torch.allclose(stamped, expected)


def test_uint8_and_tensor_stamps_agree_up_to_rounding():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    trigger = Trigger(rng.random((8, 8)), rng.random((8, 8, 3)))
    from_uint8 = torch.from_numpy(trigger.stamp_uint8(images)).permute(0, 3, 1, 2).double() / 255
    from_tensor = trigger.stamp_tensor(torch.from_numpy(images).permute(0, 3, 1, 2).double() / 255)
    assert (from_uint8 - from_tensor).abs().max() <= 0.5 / 255 + 1e-12


def test_badnet_changes_only_the_patch():
    trigger = badnet_trigger(8, 3, size=3, pattern='random', seed=1)
    grey = np.full((8, 8, 3), 128, np.uint8)
    changed = (trigger.stamp_uint8(grey) != grey).any(axis=2)
    assert (changed == (trigger.mask == 1)).all() and changed.sum() == 9
    images = torch.full((2, 3, 8, 8), 0.5)
    assert ((trigger.stamp_tensor(images) != images).any(dim=1) == torch.from_numpy(trigger.mask == 1)).all()


def test_blend_changes_every_pixel_by_alpha():
    trigger = blend_trigger(8, 3, alpha=0.1, seed=2)
    black = torch.zeros(1, 3, 8, 8)
    stamped = trigger.stamp_tensor(black)
    assert (stamped > 0).all()
    assert torch.allclose(stamped[0], 0.1 * torch.from_numpy(trigger.pattern).permute(2, 0, 1).float())


@pytest.mark.parametrize('position, rows, columns', [
    ('top_left', slice(0, 3), slice(0, 3)), ('top_right', slice(0, 3), slice(5, 8)),
    ('bottom_left', slice(5, 8), slice(0, 3)), ('bottom_right', slice(5, 8), slice(5, 8)),
    ('center', slice(2, 5), slice(2, 5))])
def test_badnet_positions(position, rows, columns):
    expected = np.zeros((8, 8))
    expected[rows, columns] = 1
    assert (badnet_trigger(8, 1, size=3, position=position).mask == expected).all()


def test_badnet_patterns():
    patch = (slice(5, 8), slice(5, 8))
    checkerboard = badnet_trigger(8, 2, pattern='checkerboard').pattern
    assert (checkerboard[patch] == np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])[:, :, None]).all()
    assert (badnet_trigger(8, 2, pattern='white').pattern[patch] == 1).all()
    random = badnet_trigger(8, 2, pattern='random', seed=3).pattern
    assert (random == badnet_trigger(8, 2, pattern='random', seed=3).pattern).all()
    assert not (random[patch] == badnet_trigger(8, 2, pattern='random', seed=4).pattern[patch]).all()


def test_blend_takes_a_given_pattern():
    pattern = np.linspace(0, 1, 4 * 4 * 3).reshape(4, 4, 3)
    trigger = blend_trigger(4, 3, alpha=0.2, pattern=pattern)
    assert (trigger.mask == 0.2).all() and (trigger.pattern == pattern).all()


# --- configs and poisoning ------------------------------------------------------------------------

def test_attack_config_splits_trigger_and_poisoning_keys():
    cfg = dict(type='BadNet', size=2, position='top_left', pattern='random', poison_rate=0.2, seed=5)
    attack = build_attack(cfg, image_size=8, channels=3)
    assert cfg['poison_rate'] == 0.2, 'the config is left as it was'
    expected = TRIGGERS.build(dict(type='BadNet', image_size=8, channels=3, size=2, position='top_left',
                                   pattern='random', seed=5))
    assert (attack.trigger.pattern == expected.pattern).all() and (attack.trigger.mask == expected.mask).all()
    assert (attack.poison_rate, attack.seed) == (0.2, 5)
    assert (attack.poison_indices(LABELS, 0) == poison_indices(LABELS, 0, 0.2, 5)).all()
    blend = build_attack(dict(type='Blend', alpha=0.3), image_size=8, channels=1)
    assert blend.trigger.l1_norm == pytest.approx(0.3 * 64) and (blend.poison_rate, blend.seed) == (0.1, 0)


@pytest.mark.parametrize('rate, count', [(0.1, 27), (0.5, 135), (0.25, 68)])  # 67.5 rounds to 68
def test_poisoning_count_and_labels(rate, count):
    chosen = poison_indices(LABELS, 0, rate, seed=0)
    assert len(chosen) == count and len(set(chosen)) == count
    assert (np.diff(chosen) > 0).all(), 'sorted'
    assert (LABELS[chosen] != 0).all(), 'no target-class sample'


def test_poisoning_is_seeded_and_independent_of_the_trigger():
    first = poison_indices(LABELS, 3, 0.1, seed=7)
    assert (first == poison_indices(LABELS, 3, 0.1, seed=7)).all()
    assert set(first) != set(poison_indices(LABELS, 3, 0.1, seed=8))
    sizes = [build_attack(dict(type='BadNet', size=s, poison_rate=0.1, seed=7), 8, 1).poison_indices(LABELS, 3)
             for s in (1, 3, 5)]
    assert all((chosen == first).all() for chosen in sizes)


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('rate', [0.0, 1.0, 1.5, -0.1])
def test_poison_rate_outside_the_open_interval(rate):
    with pytest.raises(UnlearnError, match=r'poison_rate .* is outside \(0, 1\): set attack.poison_rate'):
        poison_indices(LABELS, 0, rate, seed=0)


def test_poison_rate_that_poisons_nothing():
    with pytest.raises(UnlearnError, match='0.001 of 270 non-target samples poisons none: raise attack.poison_rate'):
        poison_indices(LABELS, 0, 0.001, seed=0)


@pytest.mark.parametrize('target', [-1, 10, 2.0, True])
def test_target_out_of_range(target):
    with pytest.raises(UnlearnError, match=r'backdoor target .* is not a class of the training labels \(0 to 9\): '
                                           'set forget_classes'):
        poison_indices(LABELS, target, 0.1, seed=0)


@pytest.mark.parametrize('size', [9, 0])
def test_trigger_larger_than_the_image(size):
    with pytest.raises(UnlearnError, match=f'BadNet trigger size {size} does not fit the 8x8 images: set attack.size '
                                           'to a whole number from 1 to 8'):
        build_attack(dict(type='BadNet', size=size), image_size=8, channels=1)


@pytest.mark.parametrize('cfg, message', [
    (dict(type='BadNet', position='middle'), "unknown BadNet position 'middle': use one of top_left, .*center"),
    (dict(type='BadNet', pattern='stripes'), "unknown BadNet pattern 'stripes': use one of checkerboard, white"),
    (dict(type='Blend', alpha=0.0), r'Blend alpha 0.0 is outside \(0, 1\]: set attack.alpha'),
    (dict(type='Blend', pattern='noise'), "unknown Blend pattern 'noise': use 'random' or an image"),
    (dict(type='Blend', pattern=np.full((4, 4, 1), 255.0)), r'must lie in \[0, 1\]: scale a uint8 pattern by 1/255'),
    (dict(type='Blend', pattern=np.zeros((4, 4, 3))),
     r'Blend pattern of shape \(4, 4, 3\) does not fit the 4x4 1-channel images: give an image \[H, W, C\]'),
])
def test_bad_trigger_settings(cfg, message):
    with pytest.raises(UnlearnError, match=message):
        build_attack(cfg, image_size=4, channels=1)


def test_trigger_shapes_must_match():
    with pytest.raises(UnlearnError, match=r'a trigger needs a mask \[H, W\] and a pattern \[H, W, C\] of the same '
                                           r'H, W; got \(4, 4\) and \(3, 4, 1\)'):
        Trigger(np.zeros((4, 4)), np.zeros((3, 4, 1)))
