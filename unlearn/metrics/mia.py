"""SVC membership-inference attack, reproducing SalUn's ``evaluation/SVC_MIA.py`` (SPEC.md §4.5).

DELETE copies SalUn's file verbatim, so this mirrors it feature by feature; the paper's MIA column is
the percentage of forget samples (the target set) that an SVC trained on shadow members (a D_r subset)
vs. shadow non-members (D_rt) calls "member". Lower is better; the original model scores ~99.
Only the ``target_train`` branch is kept, because DELETE passes ``target_test=None`` (SPEC.md §4.5).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from sklearn.svm import SVC

MIA_FEATURES = ('correctness', 'confidence', 'entropy', 'm_entropy', 'prob')
#: Most likely the feature behind the paper's MIA column (SalUn's convention; UNVERIFIED, SPEC.md §4.5, §8).
HEADLINE_MIA_FEATURE = 'confidence'
#: Below this accuracy on its own shadow data (50 % is chance) the attack cannot tell members from
#: non-members, so whatever MIA it reports on the forget set says nothing.
INFORMATIVE_SHADOW_ACCURACY = 55.0


def _as_set(name: str, probs: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert one (probs, labels) set to CPU tensors, rejecting inputs that upstream would mis-handle."""
    probs = torch.as_tensor(probs).detach().cpu()
    labels = torch.as_tensor(labels).detach().cpu()
    if probs.ndim != 2:
        raise ValueError(f'{name}: probs must be [N, K] softmax probabilities; '
                         f'got shape {tuple(probs.shape)}')
    if labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f'{name}: labels must be 1-D integer class indices; got {labels.dtype} '
                         f'of shape {tuple(labels.shape)}')
    if probs.shape[0] != labels.shape[0]:
        raise ValueError(f'{name}: {probs.shape[0]} probability rows but {labels.shape[0]} labels')
    if probs.shape[0] == 0:
        raise ValueError(f'{name}: empty set; the attack needs samples in every set')
    num_classes = probs.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f'{name}: labels must lie in [0, {num_classes}); '
                         f'got range [{int(labels.min())}, {int(labels.max())}]')
    if probs.dtype != torch.float64:
        probs = probs.float()  # upstream works on fp32 softmax outputs
    if not bool(torch.isfinite(probs).all()):
        raise ValueError(f'{name}: probs hold NaN or inf (a diverged network?); the attack needs finite outputs')
    if not bool(((probs >= 0) & (probs <= 1)).all()):
        raise ValueError(f'{name}: probs must lie in [0, 1]; pass softmax outputs, not logits')
    return probs, labels.long()


def _entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy per row, with 0·log 0 taken as 0 (upstream ``entropy``)."""
    return -torch.where(probs > 0, probs * probs.log(), probs.new([0.0])).sum(dim=-1)


def _m_entropy_upstream(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Upstream's ``m_entropy``, bugs included, so the logged m_entropy number matches DELETE/SalUn.

    Intended (Song & Mittal's modified entropy):
        -(1 - p_y) log p_y - sum_{k != y} p_k log(1 - p_k).
    What upstream computes instead (SPEC.md §7.17), with log 0 replaced by log(1e-30):
      * ``[:, labels]`` indexes *columns* with the whole label vector, so for every row, every class
        that occurs anywhere in the set gets weight 1 - p_k (not just that row's own label y);
        all other classes keep weight p_k. A row's value therefore depends on the set it is in.
      * ``log p`` is used everywhere; ``log(1 - p)`` is never computed.
    So per row:  -sum_{k in labels} (1 - p_k) log p_k  -  sum_{k not in labels} p_k log p_k.
    """
    log_probs = torch.where(probs > 0, probs.log(), torch.tensor(1e-30).log())
    weights = probs.clone()
    weights[:, labels] = 1 - probs[:, labels]
    return -(weights * log_probs).sum(dim=-1)


def mia_features(probs: Any, labels: Any) -> dict[str, np.ndarray]:
    """The five per-sample attack features of one set, each as the ``[N, d]`` rows the SVC sees.

    ``m_entropy`` is set-dependent (see :func:`_m_entropy_upstream`): compute it per set, as upstream does.
    """
    probs, labels = _as_set('probs', probs, labels)
    return _features(probs, labels)


def _features(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, np.ndarray]:
    """Features of an already validated set; flattened per row as upstream's ``reshape(n, -1)``."""
    n = probs.shape[0]
    features = {
        'correctness': (probs.argmax(dim=1) == labels).int(),
        'confidence': probs.gather(1, labels[:, None]),
        'entropy': _entropy(probs),
        'm_entropy': _m_entropy_upstream(probs, labels),
        'prob': probs,
    }
    return {name: value.numpy().reshape(n, -1) for name, value in features.items()}


def _fit(member: np.ndarray, non_member: np.ndarray) -> tuple[SVC, np.ndarray, np.ndarray]:
    """Upstream ``SVC_fit_predict``'s attack (target_train branch): an RBF SVC, members 1, non-members 0."""
    x_shadow = np.concatenate([member, non_member])
    y_shadow = np.concatenate([np.ones(len(member)), np.zeros(len(non_member))])
    return SVC(C=3, gamma='auto', kernel='rbf').fit(x_shadow, y_shadow), x_shadow, y_shadow


def _scores(clf: SVC, x_shadow: np.ndarray, y_shadow: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Percent of target rows the attack calls member, and its own accuracy on the shadow rows it was fitted on
    (near 50 = members and non-members look alike)."""
    gamma = 1.0 / x_shadow.shape[1]  # what gamma='auto' means
    return (float(_predict(clf, gamma, target).mean() * 100.0),
            float((_predict(clf, gamma, x_shadow) == y_shadow).mean() * 100.0))


def _predict(clf: SVC, gamma: float, x: np.ndarray) -> np.ndarray:
    """``clf.predict(x)`` of a fitted binary RBF SVC, computed once per distinct row as kernel-matrix products.

    libsvm predicts row by row on one core, which made the predictions of an evaluation's MIA (tens of
    thousands of rows against as many support vectors, five times) cost as much as the fits. The decision
    values here are libsvm's to ~1e-9 (summation order), and rows that close to the boundary go to libsvm:
    the labels are ``clf.predict``'s (tested).
    """
    unique, inverse = np.unique(np.asarray(x, dtype=np.float64), axis=0, return_inverse=True)
    support = torch.from_numpy(clf.support_vectors_.astype(np.float64))
    coef = torch.from_numpy(clf.dual_coef_[0].astype(np.float64))
    rows = torch.from_numpy(unique)
    support_sq = (support * support).sum(1)
    decision = torch.empty(len(rows), dtype=torch.float64)
    step = max(1, 2 ** 22 // max(1, len(support)))  # a 32 MB kernel block at a time
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        sq_dist = ((block * block).sum(1)[:, None] + support_sq[None] - 2 * block @ support.T).clamp_(min=0)
        decision[start:start + step] = torch.exp(sq_dist.mul_(-gamma)) @ coef
    decision = decision.numpy() + float(clf.intercept_[0])
    labels = clf.classes_[(decision > 0).astype(int)]
    # Where the sign is within rounding of zero (e.g. rows the attack cannot tell apart at all), libsvm decides,
    # as its own predict would.
    undecided = np.abs(decision) <= 1e-8 * (float(coef.abs().sum()) + abs(float(clf.intercept_[0])))
    if undecided.any():
        labels[undecided] = clf.predict(unique[undecided])
    return labels[inverse.reshape(-1)]


def mia_attack(shadow_train_probs: Any, shadow_train_labels: Any,
               shadow_test_probs: Any, shadow_test_labels: Any,
               target_probs: Any, target_labels: Any) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`svc_mia` plus, per feature, the attack's accuracy on its shadow data.

    The shadow accuracy says whether the MIA means anything here: when a model is as confident on unseen
    data as on its training data (easy datasets), the SVC cannot separate members from non-members
    (~50 %), and what it predicts for the forget set is extrapolation, not evidence.
    """
    sets = {'shadow_train': _as_set('shadow_train', shadow_train_probs, shadow_train_labels),
            'shadow_test': _as_set('shadow_test', shadow_test_probs, shadow_test_labels),
            'target': _as_set('target', target_probs, target_labels)}
    widths = {name: probs.shape[1] for name, (probs, _) in sets.items()}
    if len(set(widths.values())) != 1:
        raise ValueError(f'all sets must have the same number of classes K; got {widths}')
    member, non_member, target = (_features(*sets[name])
                                  for name in ('shadow_train', 'shadow_test', 'target'))
    # libsvm fits on one core and releases the GIL: the five attacks are fitted side by side, then
    # scored one after the other with torch's threads.
    with ThreadPoolExecutor(max_workers=min(len(MIA_FEATURES), torch.get_num_threads())) as pool:
        fitted = dict(zip(MIA_FEATURES, pool.map(lambda name: _fit(member[name], non_member[name]), MIA_FEATURES)))
    results = {name: _scores(*fitted[name], target[name]) for name in MIA_FEATURES}
    return ({name: mia for name, (mia, _) in results.items()},
            {name: shadow for name, (_, shadow) in results.items()})


def svc_mia(shadow_train_probs: Any, shadow_train_labels: Any,
            shadow_test_probs: Any, shadow_test_labels: Any,
            target_probs: Any, target_labels: Any) -> dict[str, float]:
    """MIA percent for each of :data:`MIA_FEATURES`.

    shadow_train = members (a D_r subset of size |D_rt|), shadow_test = non-members (D_rt),
    target = D_f (SPEC.md §4.5, §7.15). All sets must be non-empty, since the SVC needs both labels
    to fit, and share the same number of classes K.
    """
    return mia_attack(shadow_train_probs, shadow_train_labels, shadow_test_probs, shadow_test_labels,
                      target_probs, target_labels)[0]
