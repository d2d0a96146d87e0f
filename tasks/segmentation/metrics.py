"""Segmentation unlearning metrics, all from pixel confusion matrices (rows: ground truth, columns: prediction).

IoU is mmseg's ``IoUMetric`` arithmetic (classes absent from both ground truth and prediction are NaN and
left out of means). The rest are the paper's classification metrics per pixel, plus where the pixels of
the forgotten classes go: forgetting a class should not mean predicting background (SPEC.md §5.3).
"""
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from torch import Tensor

from unlearn.metrics import h_mean

VOID = 255
NO_PREDICTION = -1  # the label of a pixel whose logits are NaN or infinite: a diverged network predicts nothing
NO_PREDICTION_NAME = 'no prediction'


def predicted_pixels(pred: Tensor, seg_logits: Tensor) -> Tensor:
    """mmseg's ``[H, W]`` prediction with ``NO_PREDICTION`` where the ``[K, H, W]`` logits are not finite:
    argmax calls a NaN pixel class 0 (background) and would credit every background pixel as correct."""
    return torch.where(torch.isfinite(seg_logits).all(0), pred, torch.full_like(pred, NO_PREDICTION))


def confusion_matrix(pred: Tensor, gt: Tensor, num_classes: int) -> Tensor:
    """``[K, K + 1]`` pixel counts of one label map; the last column counts the pixels of each ground-truth
    class with no prediction (``NO_PREDICTION``: wrong for every class); void (255) ground truth is left out."""
    valid = gt != VOID
    pred = torch.where(pred == NO_PREDICTION, num_classes, pred)
    index = gt[valid].long() * (num_classes + 1) + pred[valid].long()
    return torch.bincount(index, minlength=num_classes * (num_classes + 1)).reshape(num_classes, num_classes + 1)


def iou_per_class(confusion: np.ndarray) -> np.ndarray:
    """Percent IoU per class exactly as mmseg's ``IoUMetric`` computes it (NaN: class in neither map).
    Pixels with no prediction count in their ground-truth class's union, as a miss."""
    predicted = confusion[:, :confusion.shape[0]]
    intersect = np.diag(predicted)
    gt, pred = confusion.sum(1), predicted.sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        metrics = IoUMetric.total_area_to_metrics(*(torch.from_numpy(a.astype(np.float64)) for a in (
            intersect, gt + pred - intersect, pred, gt)), metrics=['mIoU'])
    return metrics['IoU'] * 100


def pixel_accuracy(confusion: np.ndarray, classes: Iterable[int]) -> Optional[float]:
    """Percent of the ground-truth pixels of ``classes`` predicted as their own class (None: no such pixel)."""
    classes = list(classes)
    total = confusion[classes].sum()
    return None if total == 0 else float(100.0 * np.diag(confusion)[classes].sum() / total)


def _mean(values: np.ndarray) -> Optional[float]:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def redistribution(confusion: np.ndarray, forget_classes: Sequence[int], class_names: Sequence[str]) -> Dict[str, float]:
    """Percent of the forget classes' ground-truth pixels predicted as each class, and as
    ``NO_PREDICTION_NAME`` if any has no prediction."""
    predicted = confusion[list(forget_classes)].sum(0).astype(np.float64)
    predicted = 100.0 * predicted / max(predicted.sum(), 1)
    shares = {name: float(p) for name, p in zip(class_names, predicted)}
    if len(predicted) > len(class_names) and predicted[-1]:
        shares[NO_PREDICTION_NAME] = float(predicted[-1])
    return shares


def total_variation(p: Dict[str, float], q: Dict[str, float]) -> float:
    """Total variation distance in percent between two redistributions (0: the same, 100: disjoint)."""
    return float(0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in {**p, **q}))


def segmentation_metrics(*, test: np.ndarray, train_forget: np.ndarray, train_remain: np.ndarray,
                         forget_classes: List[int], class_names: Sequence[str],
                         original: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The metrics of one model from its confusion matrices on the val set and the two training splits.

    ``iou_forget``: mean IoU of the forget classes on the val set (mmseg's IoU).
    ``miou_remain``: mean IoU of the remaining classes on the val pixels of remaining classes, the per-pixel
    D_rt: as classification's Acc_rt ignores what forget images are predicted as, forget pixels predicted
    as, say, cat do not count against cat here; where they go is ``forget_pixels_to``. ``per_class_iou`` and
    ``miou`` are mmseg's IoUs over all pixels.
    ``acc_f`` / ``acc_ft``: forget-class pixel accuracy on training / val images (the paper's Acc_f, Acc_ft).
    ``acc_r`` / ``acc_rt``: remaining-class pixel accuracy on the training remain images / all val images.
    ``h_mean``: harmonic mean of ``miou_remain`` and the drop of ``iou_forget`` from the original (SPEC.md §4.5).
    ``forget_pixels_to``: the val forget pixels' predicted classes (percent); ``forget_to_background`` its
    background share.
    ``non_finite_outputs``: the pixels (val and both training splits) with NaN or infinite logits; they count
    as wrong for their ground-truth class.
    """
    remain = [c for c in range(len(class_names)) if c not in forget_classes]
    iou = iou_per_class(test)
    remain_pixels = test.copy()
    remain_pixels[forget_classes] = 0
    metrics = dict(
        iou_forget=_mean(iou[forget_classes]),
        miou_remain=_mean(iou_per_class(remain_pixels)[remain]),
        miou=_mean(iou),
        acc_f=pixel_accuracy(train_forget, forget_classes),
        acc_r=pixel_accuracy(train_remain, remain),
        acc_ft=pixel_accuracy(test, forget_classes),
        acc_rt=pixel_accuracy(test, remain))
    metrics['h_mean'] = None if original is None else h_mean(
        metrics['miou_remain'], metrics['iou_forget'], original['iou_forget'])
    metrics['forget_pixels_to'] = redistribution(test, forget_classes, class_names)
    metrics['forget_to_background'] = metrics['forget_pixels_to'].get('background')
    metrics['per_class_iou'] = {name: None if np.isnan(v) else float(v) for name, v in zip(class_names, iou)}
    metrics['non_finite_outputs'] = int(sum(c[:, len(class_names):].sum() for c in (test, train_forget, train_remain)))
    return metrics
