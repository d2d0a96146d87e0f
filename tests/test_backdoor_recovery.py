"""Trigger recovery: the MAD test and mask IoU on hand-made values, NC's λ schedule, and Neural Cleanse finding a
real backdoor in a small digits CNN."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from method_helpers import one_thread  # noqa: F401
from tasks.backdoor.recovery import (NC_EARLY_STOP_PATIENCE, NC_INIT_COST, NC_PATIENCE, RECOVERIES, KnownTrigger,
                                     NeuralCleanse, _CostSchedule, mad_detection, mask_iou)
from tasks.backdoor.triggers import badnet_trigger, poison_indices
from tasks.classification.datasets import build_digits
from tasks.classification.models import DigitsCNN
from unlearn.errors import UnlearnError

TARGET = 1


# --- MAD outlier detection ------------------------------------------------------------------------

def test_mad_flags_one_small_outlier():
    norms = [1, 10, 11, 12, 9, 10, 11, 10, 12, 9]
    # median 10; |n - 10| = 9, 0, 1, 2, 1, 0, 1, 0, 2, 1, whose median is 1: MAD = 1.4826
    detection = mad_detection(norms)
    assert detection.anomaly_indices[0] == pytest.approx(9 / 1.4826)
    assert detection.anomaly_indices[3] == pytest.approx(2 / 1.4826)
    assert detection.flagged.tolist() == [True] + [False] * 9
    assert (detection.target, detection.target_flagged) == (0, True)


def test_mad_does_not_flag_a_large_outlier():
    detection = mad_detection([30, 10, 11, 9, 10, 11, 10], classes=[4, 5, 6, 7, 8, 9, 3])
    assert detection.anomaly_indices[0] > 2 and not detection.flagged.any()
    assert (detection.target, detection.target_flagged) == (7, False), 'the smallest norm, not flagged'


def test_mad_zero_when_all_norms_are_equal():
    detection = mad_detection([5.0] * 4)
    assert (detection.anomaly_indices == 0).all() and not detection.flagged.any()
    assert (detection.target, detection.target_flagged) == (0, False)


def test_mad_zero_makes_any_other_norm_infinitely_anomalous():
    smaller = mad_detection([5, 5, 5, 5, 3])
    assert smaller.anomaly_indices.tolist() == [0, 0, 0, 0, np.inf]
    assert (smaller.target, smaller.target_flagged) == (4, True)
    larger = mad_detection([5, 5, 5, 5, 7])
    assert larger.anomaly_indices[4] == np.inf and not larger.flagged.any() and larger.target == 0


def test_a_single_candidate_is_never_flagged():
    detection = mad_detection([4.0], classes=[3])
    assert detection.anomaly_indices.tolist() == [0] and (detection.target, detection.target_flagged) == (3, False)


# --- mask IoU -------------------------------------------------------------------------------------

def test_mask_iou_binarises_the_recovered_mask():
    true_mask = np.zeros((4, 4))
    true_mask[2:, 2:] = 1
    recovered = np.full((4, 4), 0.3)
    recovered[2, 2], recovered[3, 3], recovered[0, 0] = 0.9, 0.8, 0.6
    assert mask_iou(recovered, true_mask) == pytest.approx(2 / 5), 'above 0.45: two of the four and one outside'
    assert mask_iou(recovered, true_mask, threshold=0.7) == pytest.approx(2 / 4)
    assert mask_iou(recovered, true_mask, threshold=0.2) == pytest.approx(4 / 16)
    assert mask_iou(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0
    with pytest.raises(ValueError, match='different shapes'):
        mask_iou(np.zeros((4, 4)), np.zeros((3, 3)))


# --- Neural Cleanse's λ schedule ------------------------------------------------------------------

def test_cost_moves_after_patience_steps_on_one_side():
    schedule = _CostSchedule()
    for _ in range(NC_PATIENCE - 1):
        schedule.after_step(True, 4.0)
    assert schedule.cost == NC_INIT_COST
    schedule.after_step(True, 4.0)
    assert schedule.cost == 2 * NC_INIT_COST
    schedule.after_step(False, 4.0)  # a failure resets the count of successes
    for _ in range(NC_PATIENCE - 1):
        schedule.after_step(False, 4.0)
    assert schedule.cost == pytest.approx(2 * NC_INIT_COST / 2 ** 1.5)


def test_early_stop_needs_a_stalled_best_norm_and_both_cost_moves():
    schedule = _CostSchedule()
    steps = [schedule.after_step(True, 4.0) for _ in range(NC_EARLY_STOP_PATIENCE + 5)]
    assert not any(steps), 'λ has only moved up'
    schedule = _CostSchedule()
    stops = [schedule.after_step(False, float('inf')) for _ in range(NC_PATIENCE)]   # λ down, no mask yet
    stops += [schedule.after_step(True, 4.0 * 0.995 ** i) for i in range(NC_EARLY_STOP_PATIENCE + 1)]
    assert stops.index(True) == NC_PATIENCE + NC_EARLY_STOP_PATIENCE, '25 steps each less than 1% better'


# --- Neural Cleanse on a small model --------------------------------------------------------------

class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_nc_is_deterministic_and_scans_each_class_alone():
    torch.manual_seed(0)
    model, images = TinyNet().train(), torch.rand(20, 2, 4, 4)
    before = copy.deepcopy(model.state_dict())
    scan = NeuralCleanse(steps=3, images_per_step=16, batch_size=8)
    detected = scan.recover(model, images, ([0.5, 0.5], [0.25, 0.25]), target=2)
    assert model.training and all(p.requires_grad for p in model.parameters()), 'mode and flags put back'
    assert all((before[k] == v).all() for k, v in model.state_dict().items()) and model.fc.weight.grad is None
    again = scan.recover(model, images, ([0.5, 0.5], [0.25, 0.25]), target=2)
    assert (again.masks == detected.masks).all() and (again.patterns == detected.patterns).all()
    given = NeuralCleanse(target='given', steps=3, images_per_step=16, batch_size=8).recover(
        model, images, ([0.5, 0.5], [0.25, 0.25]), target=2)
    assert given.classes.tolist() == [2] and (given.target, given.detection.target_flagged) == (2, False)
    assert (given.masks[0] == detected.masks[2]).all() and (given.patterns[0] == detected.patterns[2]).all()
    assert detected.masks.shape == (3, 4, 4) and detected.patterns.shape == (3, 4, 4, 2)
    assert detected.norms == pytest.approx(detected.masks.sum(axis=(1, 2)))


@pytest.mark.parametrize('call, message', [
    (lambda model: NeuralCleanse(target='all'), "NeuralCleanse target 'all' is unknown: use 'detect'"),
    (lambda model: NeuralCleanse(target='given').recover(model, torch.rand(4, 2, 4, 4), ([0.5], [0.25]), 3),
     "target class 3 is out of range for the model's 3 classes"),
    (lambda model: NeuralCleanse().recover(model, 4 * torch.rand(4, 2, 4, 4), ([0.5], [0.25]), 0),
     r'not \[0, 1\] pixel space: pass unnormalised images and their \(mean, std\) as pixel_normalization'),
    (lambda model: KnownTrigger().recover(model, torch.rand(4, 2, 4, 4), ([0.5], [0.25]), 0),
     "KnownTrigger needs the attack's trigger: set task.attack, or recover it with NeuralCleanse"),
])
def test_recovery_errors(call, message):
    with pytest.raises(UnlearnError, match=message):
        call(TinyNet())


# --- Neural Cleanse on a real backdoor ------------------------------------------------------------

@pytest.fixture(scope='module')
def backdoor():
    """A DigitsCNN trained for 8 epochs on digits with 10% of the non-target images stamped with a white 2x2
    patch and relabelled TARGET; the test split is the defender's clean images."""
    data = build_digits(augment=False)
    trigger = badnet_trigger(8, 1, size=2, pattern='white')
    images = data.train.images.permute(0, 2, 3, 1).numpy().copy()  # stored uint8 [N, H, W, C]
    labels = np.array(data.train_targets)
    poisoned = poison_indices(labels, TARGET, 0.1, seed=0)
    images[poisoned], labels[poisoned] = trigger.stamp_uint8(images[poisoned]), TARGET
    mean, std = torch.tensor(data.mean), torch.tensor(data.std)
    inputs = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - mean) / std
    targets = torch.from_numpy(labels)
    torch.manual_seed(0)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):
        for batch in torch.randperm(len(inputs)).split(64):
            optimizer.zero_grad()
            F.cross_entropy(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()
    clean = data.test.images.float() / 255
    return model.eval(), trigger, clean, torch.tensor(data.test_targets), (data.mean, data.std)


def predictions(model, images, normalization):
    mean, std = (torch.tensor(values).view(1, -1, 1, 1) for values in normalization)
    with torch.no_grad():
        return model((images - mean) / std).argmax(1)


def test_nc_finds_the_backdoor(backdoor):
    model, trigger, clean, labels, normalization = backdoor
    assert (predictions(model, clean, normalization) == labels).float().mean() >= 0.95
    others = clean[labels != TARGET]
    asr = (predictions(model, trigger.stamp_tensor(others), normalization) == TARGET).float().mean()
    assert asr >= 0.9, 'the backdoor works'

    recovered = NeuralCleanse(steps=25, images_per_step=200).recover(model, clean, normalization, target=0)
    assert (recovered.target, recovered.detection.target_flagged) == (TARGET, True)
    assert recovered.detection.anomaly_indices[TARGET] > 2
    assert mask_iou(recovered.trigger().mask, trigger.mask) >= 0.5
    assert recovered.success_rates[TARGET] >= 99
    stamped = recovered.trigger().stamp_tensor(others)
    assert (predictions(model, stamped, normalization) == TARGET).float().mean() >= 0.9, 'a working trigger'


def test_known_trigger_returns_the_truth(backdoor):
    model, trigger, clean, labels, normalization = backdoor
    known = RECOVERIES.build(dict(type='KnownTrigger')).recover(model, clean, normalization, TARGET, trigger)
    assert (known.target, known.classes.tolist()) == (TARGET, [TARGET])
    assert (known.trigger().mask == trigger.mask).all() and (known.trigger().pattern == trigger.pattern).all()
    assert known.norms.tolist() == [4.0]
    hits = (predictions(model, trigger.stamp_tensor(clean), normalization) == TARGET).float().mean()
    assert known.success_rates[0] == pytest.approx(100 * float(hits))
