"""Face verification from a classifier: claims "image i is identity c", accepted when their score reaches τ.

Every test image makes one genuine claim (its own identity) and K - 1 impostor claims (each other identity).
A claim's score is the softmax probability of the claimed identity (logit verification) or the cosine between
the image's embedding and the identity's mean training embedding (embedding verification). τ is set on the
impostor claims at a target false accept rate (FAR); the true accept rate (TAR) of the genuine claims at τ is
what a deployed system would grant. A claim whose score is not finite (a diverged network) is never accepted.
"""
from typing import Tuple

import numpy as np


def _scores(values) -> np.ndarray:
    scores = np.asarray(values, dtype=np.float64).ravel()
    if not len(scores):
        raise ValueError('no claims: a rate over no claims is undefined')
    return scores


def _accepted(scores: np.ndarray, tau: float) -> np.ndarray:
    return np.isfinite(scores) & (scores >= tau)


def claims(scores, labels) -> Tuple[np.ndarray, np.ndarray]:
    """``(genuine [N], impostor [N * (K - 1)])`` of a score matrix ``[N, K]``: ``scores[i, labels[i]]`` and
    ``scores[i, c]`` for every ``c != labels[i]`` (row by row)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2 or labels.shape != (len(scores),):
        raise ValueError(f'claims need scores [N, K] and labels [N]; got {scores.shape} and {labels.shape}')
    own = np.zeros(scores.shape, bool)
    own[np.arange(len(labels)), labels] = True
    return scores[own], scores[~own]


def threshold_at_far(impostor_scores, far: float = 0.01) -> float:
    """τ: the smallest impostor score ``t`` such that the share of impostor scores ``>= t`` is ``<= far``.

    Claims are accepted at ``score >= τ``, so ties at τ are all accepted: where the claims tied at a candidate
    would push the share over ``far``, τ moves up to the next larger score, and the FAR never exceeds the
    target (it falls short of it by the tied claims). Where no score qualifies (fewer than ``1 / far`` claims,
    or the largest score tied too often), τ is the next float above the largest score: nothing is accepted.
    With no finite score at all, τ is ``inf``.
    """
    scores = _scores(impostor_scores)
    finite = np.sort(scores[np.isfinite(scores)])
    if not len(finite):
        return float('inf')
    shares = (len(finite) - np.searchsorted(finite, finite, side='left')) / len(scores)
    qualifying = shares <= far
    if qualifying.any():
        return float(finite[qualifying.argmax()])  # sorted ascending: the first is the smallest
    return float(np.nextafter(finite[-1], np.inf))


def tar(genuine, tau: float) -> float:
    """Percent of genuine claims accepted at ``τ`` (``score >= τ``)."""
    return 100.0 * float(_accepted(_scores(genuine), tau).mean())


def far(impostor, tau: float) -> float:
    """Percent of impostor claims accepted at ``τ`` (``score >= τ``)."""
    return tar(impostor, tau)


def roc_points(genuine, impostor) -> Tuple[np.ndarray, np.ndarray]:
    """``(FAR %, TAR %)`` at τ = every finite score, from the strictest (0, 0) on, FAR ascending."""
    genuine, impostor = _scores(genuine), _scores(impostor)
    accepted_genuine = np.sort(genuine[np.isfinite(genuine)])
    accepted_impostor = np.sort(impostor[np.isfinite(impostor)])
    thresholds = np.unique(np.concatenate([accepted_genuine, accepted_impostor]))[::-1]
    thresholds = np.concatenate([[np.inf], thresholds])

    def percent_at_least(sorted_scores: np.ndarray, total: int) -> np.ndarray:
        return 100.0 * (len(sorted_scores) - np.searchsorted(sorted_scores, thresholds, side='left')) / total

    return percent_at_least(accepted_impostor, len(impostor)), percent_at_least(accepted_genuine, len(genuine))


def l2_normalize(features) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero, as ``torch.nn.functional.normalize``)."""
    features = np.asarray(features, dtype=np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def identity_centres(features, labels, num_classes: int) -> np.ndarray:
    """``[K, D]``: each identity's mean L2-normalised training feature (every image counts the same, whatever
    its feature norm), L2-normalised."""
    features, labels = l2_normalize(features), np.asarray(labels, dtype=np.int64)
    missing = sorted(set(range(num_classes)) - set(labels.tolist()))
    if missing:
        raise ValueError(f'no training feature of identities {missing}: their centres are undefined')
    return l2_normalize(np.stack([features[labels == c].mean(0) for c in range(num_classes)]))


def cosine_scores(features, centres) -> np.ndarray:
    """``[N, K]`` cosine of each L2-normalised feature with each identity centre (:func:`identity_centres`):
    the embedding verification's scores, turned into claims by :func:`claims`."""
    return l2_normalize(features) @ l2_normalize(centres).T
