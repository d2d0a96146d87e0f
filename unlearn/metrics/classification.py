"""Top-1 accuracy for the Acc_f / Acc_r / Acc_ft / Acc_rt columns (SPEC.md §4.5), in percent."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _to_numpy(x: Any) -> np.ndarray:
    """Accept numpy arrays, torch tensors (any device) and lists, so callers need not convert."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _check_pred_target(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Fail loudly on empty or misaligned inputs: a silent 0/0 or broadcast would corrupt a table cell."""
    pred, target = _to_numpy(pred), _to_numpy(target)
    if pred.ndim != 1 or target.ndim != 1:
        raise ValueError(f'pred and target must be 1-D class indices (argmax the logits first); '
                         f'got shapes {pred.shape} and {target.shape}')
    if pred.shape != target.shape:
        raise ValueError(f'pred and target differ in length: {pred.shape[0]} vs {target.shape[0]}')
    if pred.size == 0:
        raise ValueError('accuracy of an empty set is undefined (is the split empty?)')
    return pred, target


def predicted_classes(probs: Any) -> np.ndarray:
    """Top-1 class per row of ``[N, K]`` scores; -1 (never a class, so counted wrong) where a row is not finite.

    A method can leave a diverged network (e.g. Fisher Forgetting's noise at the official alpha): its NaN
    rows have no prediction, where ``argmax`` would report the first class and credit it as correct.
    """
    probs = _to_numpy(probs)
    if probs.ndim != 2:
        raise ValueError(f'probs must be [N, K] scores; got shape {probs.shape}')
    return np.where(np.isfinite(probs).all(axis=1), probs.argmax(axis=1), -1)


def accuracy(pred: Any, target: Any) -> float:
    """Top-1 accuracy in percent; ``pred`` holds predicted class indices, one per sample."""
    pred, target = _check_pred_target(pred, target)
    return float((pred == target).mean() * 100.0)


def per_class_accuracy(pred: Any, target: Any, num_classes: int) -> list[float | None]:
    """Accuracy in percent for each class; ``None`` where the class has no samples (not 0, which would
    read as "fully forgotten")."""
    pred, target = _check_pred_target(pred, target)
    if target.min() < 0 or target.max() >= num_classes:
        raise ValueError(f'target labels must lie in [0, {num_classes}); '
                         f'got range [{target.min()}, {target.max()}]')
    correct = pred == target
    return [float(correct[target == c].mean() * 100.0) if (target == c).any() else None
            for c in range(num_classes)]
