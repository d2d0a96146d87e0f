"""Metrics against hand-computed values and the paper's published H-Mean numbers (SPEC.md §4.5, §6)."""
import math

import numpy as np
import pytest
import torch

from unlearn.metrics import (HEADLINE_MIA_FEATURE, MIA_FEATURES, accuracy, h_mean, mia_features,
                             per_class_accuracy, predicted_classes, svc_mia)

LOG_1E30 = math.log(np.float32(1e-30))  # upstream's stand-in for log 0, taken in fp32


# --- accuracy -------------------------------------------------------------------------------------

def test_accuracy_hand_computed():
    assert accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == pytest.approx(75.0)
    assert accuracy(torch.tensor([3, 3]), torch.tensor([3, 3])) == pytest.approx(100.0)
    assert accuracy([1], [0]) == 0.0


def test_non_finite_rows_have_no_prediction_and_count_as_wrong():
    probs = np.array([[np.nan, np.nan], [0.1, 0.9], [np.inf, 0.0], [0.8, 0.2]])
    labels = np.array([0, 1, 0, 0])
    assert probs.argmax(1)[0] == 0, 'numpy calls a NaN row class 0 (which would be credited as correct here)'
    assert predicted_classes(probs).tolist() == [-1, 1, -1, 0]
    assert accuracy(predicted_classes(probs), labels) == pytest.approx(50.0)
    assert predicted_classes(torch.tensor([[0.2, 0.7, 0.1]])).tolist() == [1]


@pytest.mark.parametrize('pred, target, message', [
    ([], [], 'empty'),
    ([0, 1], [0], 'length'),
    (np.zeros((2, 3)), [0, 1], '1-D'),
])
def test_accuracy_rejects_bad_input(pred, target, message):
    with pytest.raises(ValueError, match=message):
        accuracy(pred, target)


def test_per_class_accuracy_hand_computed():
    # class 0: samples 0, 2, 3 predicted 0, 1, 0 -> 2/3; class 1: one sample, right; class 2: no samples
    result = per_class_accuracy(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), num_classes=3)
    assert result[0] == pytest.approx(200 / 3)
    assert result[1] == pytest.approx(100.0)
    assert result[2] is None


def test_per_class_accuracy_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        per_class_accuracy([0, 2], [0, 2], num_classes=2)


# --- H-Mean ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('original_acc_ft, acc_ft, acc_rt, expected', [
    (97.00, 0.00, 95.03, 96.00),    # Table 1 CIFAR-10, DELETE
    (67.00, 0.00, 76.57, 71.47),    # Table 1 CIFAR-100, DELETE
    (97.00, 68.30, 59.73, 38.77),   # Table 1 CIFAR-10, Fisher Forget (R)
    (72.70, 0.00, 77.21, 74.89),    # Table 2 ViT-S, DELETE
    (78.80, 0.00, 37.56, 50.87),    # Table 4, 10 classes, Influence Unlearn
    (77.40, 1.20, 79.30, 77.72),    # Table 4, 20 classes, DELETE
    (97.00, 37.30, 95.49, 73.47),   # Table 5, alpha = 0.25
    (97.00, 76.80, 95.31, 33.33),   # Table 5, alpha = 0.50
    (97.00, 95.00, 94.36, 3.92),    # Table 5, alpha = 0.75
])
def test_h_mean_reproduces_paper_rows(original_acc_ft, acc_ft, acc_rt, expected):
    assert h_mean(acc_rt, acc_ft, original_acc_ft) == pytest.approx(expected, abs=0.01)


def test_h_mean_zero_denominator_and_negative_drop():
    assert h_mean(0.0, 97.0, 97.0) == 0.0
    # The unlearned model beats the original on D_ft: drop = -10, H = 2*90*(-10)/80, not clipped.
    assert h_mean(90.0, 80.0, 70.0) == pytest.approx(-22.5)


# --- MIA features ---------------------------------------------------------------------------------

PROBS = np.array([[0.6, 0.4, 0.0],
                  [0.2, 0.7, 0.1]], dtype=np.float32)
LABELS = np.array([0, 2])


def test_mia_features_hand_computed():
    f = mia_features(PROBS, LABELS)
    assert set(f) == set(MIA_FEATURES)
    np.testing.assert_array_equal(f['correctness'], [[1], [0]])  # argmax 0 == 0; argmax 1 != 2
    np.testing.assert_allclose(f['confidence'], [[0.6], [0.1]], rtol=1e-6)
    np.testing.assert_allclose(f['entropy'], [[-(0.6 * math.log(0.6) + 0.4 * math.log(0.4))],
                                              [-(0.2 * math.log(0.2) + 0.7 * math.log(0.7)
                                                 + 0.1 * math.log(0.1))]], rtol=1e-5)
    np.testing.assert_array_equal(f['prob'], PROBS)


def test_m_entropy_reproduces_upstream_bug():
    # Classes occurring anywhere in the set ({0, 2}) get weight 1 - p_k in every row, others p_k;
    # log p is used throughout (never log(1 - p)), and log 0 becomes log(1e-30).
    row0 = -(0.4 * math.log(0.6)) - 0.4 * math.log(0.4) - 1.0 * LOG_1E30
    row1 = -(0.8 * math.log(0.2)) - 0.7 * math.log(0.7) - 0.9 * math.log(0.1)
    np.testing.assert_allclose(mia_features(PROBS, LABELS)['m_entropy'], [[row0], [row1]], rtol=1e-5)
    # The same row in a set that only contains class 0: class 2 now keeps weight p = 0, so no log(1e-30).
    alone = -(0.4 * math.log(0.6)) - 0.4 * math.log(0.4)
    np.testing.assert_allclose(mia_features(PROBS[:1], LABELS[:1])['m_entropy'], [[alone]], rtol=1e-5)
    # Intended modified entropy for row 1 (y = 2) would differ: the bug must be kept, not fixed.
    intended = -(0.9 * math.log(0.1)) - 0.2 * math.log(0.8) - 0.7 * math.log(0.3)
    assert not math.isclose(row1, intended, rel_tol=1e-3)


# --- SVC MIA --------------------------------------------------------------------------------------

def _make_set(rng, n, num_classes, true_prob):
    """Softmax-like rows with probability ``true_prob`` (+-jitter) on the label, the rest spread evenly."""
    labels = rng.integers(0, num_classes, n)
    p_true = np.clip(true_prob + rng.uniform(-0.02, 0.02, n), 0.0, 1.0)
    probs = np.repeat(((1 - p_true) / (num_classes - 1))[:, None], num_classes, axis=1)
    probs[np.arange(n), labels] = p_true
    return probs.astype(np.float32), labels


def _attack(target_true_prob, seed=0):
    rng = np.random.default_rng(seed)
    members = _make_set(rng, 60, 3, 0.98)       # confidence ~1
    non_members = _make_set(rng, 60, 3, 0.30)   # confidence ~0.3, wrong argmax
    target = _make_set(rng, 40, 3, target_true_prob)
    return svc_mia(*members, *non_members, *target), (members, non_members, target)


def test_svc_mia_separates_members_from_non_members():
    looks_member, _ = _attack(0.98)
    looks_non_member, _ = _attack(0.30)
    assert tuple(looks_member) == MIA_FEATURES
    assert looks_member[HEADLINE_MIA_FEATURE] == pytest.approx(100.0)
    assert looks_non_member[HEADLINE_MIA_FEATURE] == pytest.approx(0.0)
    for feature in MIA_FEATURES:
        assert looks_member[feature] >= 95.0, feature
        assert looks_non_member[feature] <= 5.0, feature


def test_svc_mia_is_deterministic_and_accepts_tensors():
    first, sets = _attack(0.6)
    tensors = [torch.as_tensor(a) for pair in sets for a in pair]
    assert svc_mia(*tensors) == first
    assert _attack(0.6)[0] == first


def test_svc_mia_fits_when_shadow_sets_are_identical():
    rng = np.random.default_rng(1)
    shadow = _make_set(rng, 20, 3, 0.9)
    result = svc_mia(*shadow, *shadow, *_make_set(rng, 10, 3, 0.9))
    assert all(0.0 <= value <= 100.0 for value in result.values())


def test_svc_mia_rejects_bad_input():
    rng = np.random.default_rng(2)
    good = _make_set(rng, 10, 3, 0.9)
    empty = (np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match='shadow_test: empty'):
        svc_mia(*good, *empty, *good)
    with pytest.raises(ValueError, match='same number of classes'):
        svc_mia(*good, *good, *_make_set(rng, 10, 4, 0.9))
    with pytest.raises(ValueError, match='not logits'):
        svc_mia(*good, *good, good[0] * 10 - 5, good[1])
    with pytest.raises(ValueError, match='labels must lie'):
        svc_mia(*good, *good, good[0], good[1] + 3)
    with pytest.raises(ValueError, match='probability rows'):
        svc_mia(*good, *good, good[0], good[1][:5])


def test_mia_attack_reports_how_well_it_separates_its_shadow_sets():
    """Shadow accuracy ~100 when members and non-members differ, ~50 when they look alike; MIA as svc_mia."""
    from unlearn.metrics import mia_attack

    rng = np.random.default_rng(0)

    def probs(confidence, n):
        first = np.clip(confidence + rng.normal(0, 0.01, n), 0, 1)
        return np.stack([first, 1 - first], axis=1)

    labels = np.zeros(200, dtype=int)
    members, non_members, alike, target = probs(0.98, 200), probs(0.30, 200), probs(0.98, 200), probs(0.98, 50)
    mia, separable = mia_attack(members, labels, non_members, labels, target, labels[:50])
    assert mia == svc_mia(members, labels, non_members, labels, target, labels[:50])
    assert separable['confidence'] > 95
    _, look_alike = mia_attack(members, labels, alike, labels, target, labels[:50])
    assert look_alike['confidence'] < 70


@pytest.mark.parametrize('feature', MIA_FEATURES)
def test_the_attacks_predictions_are_libsvms(feature):
    """The MIA's vectorised decision function labels every row as ``SVC.predict`` does, on overlapping members
    and non-members (most rows are support vectors) with repeated rows, for every feature's width."""
    from unlearn.metrics.mia import _fit, _predict

    generator = torch.Generator().manual_seed(3)

    def softmax_set(n, sharpness):
        logits = torch.randn(n, 10, generator=generator) * sharpness
        labels = torch.randint(0, 10, (n,), generator=generator)
        logits[torch.arange(n), labels] += sharpness
        return mia_features(logits.softmax(1), labels)

    members, non_members, target = softmax_set(400, 4.0), softmax_set(400, 3.0), softmax_set(300, 3.5)
    clf, x_shadow, y_shadow = _fit(members[feature], non_members[feature])
    rows = np.concatenate([x_shadow, target[feature], target[feature][:50]])
    assert len(clf.support_) > 400
    np.testing.assert_array_equal(_predict(clf, 1.0 / rows.shape[1], rows), clf.predict(rows))


def test_an_attack_that_cannot_tell_its_sets_apart_predicts_as_libsvm():
    """Identical shadow rows put every decision value at rounding distance from 0: libsvm's label is kept."""
    from unlearn.metrics.mia import _fit, _predict

    ones = np.ones((300, 1))
    clf, x_shadow, _ = _fit(ones, ones)
    np.testing.assert_array_equal(_predict(clf, 1.0, x_shadow), clf.predict(x_shadow))
