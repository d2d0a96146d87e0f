"""Trigger recovery: the defender's guess of a backdoor's target class and trigger, from the model and a few clean
images.

A recovery (``RECOVERIES``) is called as ``recover(model, clean_images, pixel_normalization, target, trigger)``
and returns ``RecoveredTriggers``: one mask and pattern per candidate class, their L1 norms and attack success,
and the MAD outlier test that picks the target t̂ among them. ``NeuralCleanse`` searches for the triggers;
``KnownTrigger`` returns the attack's own (the upper bound a perfect recovery would reach).
"""
import math
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import Registry
from torch import Tensor, nn

from unlearn.errors import UnlearnError
from unlearn.methods.attacks import PixelSpace
from unlearn.progress import progress
from .triggers import Trigger, stamp

#: Trigger recoveries: ``recovery = dict(type='NeuralCleanse', target='detect')``; in the core's scope, as
#: ``triggers.TRIGGERS``.
RECOVERIES = Registry('trigger recovery', scope='unlearn')

# Neural Cleanse's settings (Wang et al., S&P 2019, and their code's defaults).
NC_LR, NC_BETAS = 0.1, (0.5, 0.9)
NC_INIT_COST = 1e-3
NC_COST_UP, NC_COST_DOWN = 2.0, 2.0 ** 1.5
NC_SUCCESS = 0.99            # a mask "works" when at least this share of stamped images goes to the class
NC_PATIENCE = 5              # steps in a row on one side of NC_SUCCESS before λ moves
NC_EARLY_STOP_PATIENCE = 25  # steps without progress of the best norm before the scan stops
NC_EARLY_STOP_GAIN = 0.99    # progress: the best norm falls below 99% of its previous best
#: Makes the MAD a consistent estimate of the standard deviation of normal data.
MAD_TO_STD = 1.4826
ANOMALY_THRESHOLD = 2.0


@dataclass(frozen=True)
class Detection:
    """The MAD outlier test over the candidates' mask norms: which classes look backdoored, and t̂."""

    classes: np.ndarray
    norms: np.ndarray
    anomaly_indices: np.ndarray
    flagged: np.ndarray
    target: int
    target_flagged: bool


def mad_detection(norms: Sequence[float], classes: Optional[Sequence[int]] = None) -> Detection:
    """Neural Cleanse's outlier test on the mask norms ``n_c = ||m_c||_1`` of the candidate ``classes``.

    ``a_c = |n_c - med(n)| / (1.4826 * med(|n - med(n)|))``; class c is flagged when ``n_c < med(n)`` and
    ``a_c > 2`` (a backdoor needs an unusually small trigger; a large norm is no sign of one). t̂ is the
    smallest-norm flagged class, else the smallest-norm class, reported as not flagged (ties: the first).
    When more than half the norms are equal the MAD is 0: a norm equal to the median has anomaly index 0 and
    any other ``inf``, so a smaller one is flagged. A single candidate is its own median and is never flagged.
    """
    norms = np.asarray(norms, np.float64)
    classes = np.arange(len(norms)) if classes is None else np.asarray(classes)
    median = np.median(norms)
    deviations = np.abs(norms - median)
    mad = MAD_TO_STD * np.median(deviations)
    if mad > 0:
        anomaly_indices = deviations / mad
    else:
        anomaly_indices = np.where(deviations > 0, np.inf, 0.0)
    flagged = (norms < median) & (anomaly_indices > ANOMALY_THRESHOLD)
    pool = np.flatnonzero(flagged) if flagged.any() else np.arange(len(norms))
    best = pool[np.argmin(norms[pool])]
    return Detection(classes, norms, anomaly_indices, flagged, int(classes[best]), bool(flagged[best]))


def mask_iou(recovered_mask, true_mask, threshold: Optional[float] = None) -> float:
    """Intersection over union of the recovered trigger's pixels and the true trigger's (``mask > 0``).

    A recovered mask is soft: its pixels are those above ``threshold``, by default half its maximum, which
    keeps the trigger's core and drops the faint residue Neural Cleanse leaves elsewhere whatever the mask's
    scale (a Blend trigger's mask is small everywhere). Two empty masks agree: 1.0.
    """
    recovered_mask, true_mask = np.asarray(recovered_mask, np.float64), np.asarray(true_mask, np.float64)
    if recovered_mask.shape != true_mask.shape:
        raise ValueError(f'masks of different shapes: {recovered_mask.shape} and {true_mask.shape}')
    cut = recovered_mask.max() / 2 if threshold is None else threshold
    recovered, true = recovered_mask > cut, true_mask > 0
    union = (recovered | true).sum()
    return float((recovered & true).sum() / union) if union else 1.0


@dataclass(frozen=True)
class RecoveredTriggers:
    """One recovered trigger per candidate class (row i is ``classes[i]``) and the detection over them.

    ``masks`` ``[n, H, W]`` and ``patterns`` ``[n, H, W, C]`` in [0, 1]; ``success_rates`` (percent) is the share
    of the defender's stamped images the model sent to the class; ``steps`` how many optimisation steps ran.
    """

    classes: np.ndarray
    masks: np.ndarray
    patterns: np.ndarray
    success_rates: np.ndarray
    steps: np.ndarray
    detection: Detection

    @property
    def norms(self) -> np.ndarray:
        return self.detection.norms

    @property
    def target(self) -> int:
        """t̂, the detected target class."""
        return self.detection.target

    def trigger(self, class_index: Optional[int] = None) -> Trigger:
        """The trigger recovered for ``class_index`` (default t̂)."""
        row = int(np.flatnonzero(self.classes == (self.target if class_index is None else class_index))[0])
        return Trigger(self.masks[row], self.patterns[row])


def _recovered(classes, masks, patterns, success_rates, steps) -> RecoveredTriggers:
    masks = np.stack(masks)
    return RecoveredTriggers(np.asarray(classes), masks, np.stack(patterns), np.asarray(success_rates, np.float64),
                             np.asarray(steps), mad_detection(masks.sum(axis=(1, 2)), classes))


class TriggerRecovery(ABC):
    """What a recovery is given: the suspect model and the defender's clean images, ``[N, C, H, W]`` in [0, 1]
    pixel space with the ``pixel_normalization=(mean, std)`` the model expects; the ``target`` class the
    defender was told (read only where a recovery says so); the attack's true ``trigger`` where it is known."""

    @abstractmethod
    def recover(self, model: nn.Module, clean_images: Tensor, pixel_normalization: Tuple[Sequence, Sequence],
                target: int, trigger: Optional[Trigger] = None) -> RecoveredTriggers:
        """The recovered triggers and the detected target."""


@contextmanager
def _inference_only(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode with no parameter gradients for the block; its mode and flags are put back."""
    training, flags = model.training, [p.requires_grad for p in model.parameters()]
    model.eval().requires_grad_(False)
    try:
        yield model
    finally:
        model.train(training)
        for parameter, flag in zip(model.parameters(), flags):
            parameter.requires_grad_(flag)


def _checked_images(images: Tensor, model: nn.Module) -> Tensor:
    """The clean images on the model's device; NC's own issue #1 was a range mismatch, so [0, 1] is enforced."""
    if not torch.is_tensor(images) or not images.is_floating_point() or images.dim() != 4 or not len(images):
        raise UnlearnError('trigger recovery needs clean images as a float tensor [N, C, H, W] with N > 0')
    if images.min() < 0 or images.max() > 1:
        raise UnlearnError(f'clean images span [{images.min():.3g}, {images.max():.3g}], not [0, 1] pixel space: '
                           'pass unnormalised images and their (mean, std) as pixel_normalization')
    return images.to(next(model.parameters()).device)


def _squashed(parameter: Tensor) -> Tensor:
    """NC's box constraint: ``(tanh(w) + 1) / 2`` keeps a mask or pattern in [0, 1] without clipping."""
    return (torch.tanh(parameter) + 1) / 2


def _unsquashed(values: Tensor) -> Tensor:
    """Inverse of ``_squashed`` for values in [0, 1], pulled in slightly from the ends where atanh is infinite."""
    return torch.atanh((values - 0.5) * (2 - 1e-6))


class _CostSchedule:
    """NC's λ and early stop.

    λ doubles after ``NC_PATIENCE`` steps in a row at ``NC_SUCCESS`` and is divided by 2^1.5 after as many
    below. The scan stops once the best norm has not fallen below 99% of its previous best for
    ``NC_EARLY_STOP_PATIENCE`` steps, and only after λ has moved both up and down (NC's code).
    """

    def __init__(self) -> None:
        self.cost = NC_INIT_COST
        self.steps_above = self.steps_below = self.steps_without_progress = 0
        self.moved_up = self.moved_down = False
        self.previous_best = float('inf')

    def after_step(self, succeeded: bool, best_norm: float) -> bool:
        """Update λ from this step's success; True when the scan should stop."""
        if best_norm < float('inf'):
            progressed = best_norm < NC_EARLY_STOP_GAIN * self.previous_best
            self.steps_without_progress = 0 if progressed else self.steps_without_progress + 1
        self.previous_best = min(best_norm, self.previous_best)
        self.steps_above, self.steps_below = (self.steps_above + 1, 0) if succeeded else (0, self.steps_below + 1)
        if self.steps_above >= NC_PATIENCE:
            self.steps_above, self.cost, self.moved_up = 0, self.cost * NC_COST_UP, True
        elif self.steps_below >= NC_PATIENCE:
            self.steps_below, self.cost, self.moved_down = 0, self.cost / NC_COST_DOWN, True
        return (self.moved_up and self.moved_down
                and self.steps_without_progress >= NC_EARLY_STOP_PATIENCE)


@RECOVERIES.register_module()
class NeuralCleanse(TriggerRecovery):
    """Neural Cleanse (Wang et al., S&P 2019): the smallest trigger that sends clean images to each class.

    For each candidate c it minimises ``CE(f(normalise((1 - m) * x + m * p)), c) + λ ||m||_1`` over the clean
    images in [0, 1] pixel space, with ``m = (tanh(m') + 1) / 2`` (``[H, W]``, shared by the channels) and
    ``p = (tanh(p') + 1) / 2`` (``[C, H, W]``), Adam (lr 0.1, betas (0.5, 0.9)) and λ scheduled as in NC
    (``_CostSchedule``). A step is one pass over ``images_per_step`` images in batches of ``batch_size`` (NC's
    mini-epoch: 1,000 images in batches of 32), drawn in fresh random orders. It keeps the smallest-norm mask of
    a step whose success (mean over the step's batches, as NC) reached 99%; a class that never reached it keeps
    its last mask. The model runs in eval mode without parameter gradients.

    Every class starts from the same random mask and pattern and sees the same batches (all drawn from ``seed``),
    so a class's scan does not depend on which other classes are scanned.

    Args:
        target: ``'detect'`` scans every class and lets the MAD test pick t̂; ``'given'`` scans only the class the
            defender was told, which is then t̂ (not flagged: one norm is no outlier).
        steps: at most this many steps per class (NC: 1,000; 50 fits a CPU).
        images_per_step, batch_size: the size of a step and of its batches.
        seed: the initial mask and pattern and the batch order.
    """

    def __init__(self, target: str = 'detect', steps: int = 50, images_per_step: int = 1000, batch_size: int = 32,
                 seed: int = 0) -> None:
        if target not in ('detect', 'given'):
            raise UnlearnError(f"NeuralCleanse target {target!r} is unknown: use 'detect' (scan every class) or "
                               "'given' (scan forget_classes only)")
        if min(steps, images_per_step, batch_size) < 1:
            raise UnlearnError('NeuralCleanse steps, images_per_step and batch_size must be positive')
        self.target, self.steps, self.seed = target, steps, seed
        self.images_per_step, self.batch_size = images_per_step, batch_size

    def recover(self, model, clean_images, pixel_normalization, target, trigger=None) -> RecoveredTriggers:
        images = _checked_images(clean_images, model)
        space = PixelSpace(*pixel_normalization, images)
        with _inference_only(model):
            with torch.no_grad():
                num_classes = model(space.to_inputs(images[:1])).shape[1]
            if self.target == 'given' and not 0 <= target < num_classes:
                raise UnlearnError(f'target class {target} is out of range for the model\'s {num_classes} classes')
            classes = list(range(num_classes)) if self.target == 'detect' else [target]
            scans = []
            with progress(f'Neural Cleanse scan ({self.steps} steps of {self.images_per_step} images per class)',
                          len(classes), unit='classes') as update:
                for c in classes:
                    scans.append(self._scan(model, space, images, c))
                    update(1)
        return _recovered(classes, *zip(*scans))

    def _batches(self, count: int, generator: torch.Generator) -> Tensor:
        """One step's batch indices ``[batches, batch_size]``: ``images_per_step`` images from consecutive random
        orders of the images."""
        batch_size = min(self.batch_size, count)
        num_batches = math.ceil(self.images_per_step / batch_size)
        orders = torch.cat([torch.randperm(count, generator=generator)
                            for _ in range(math.ceil(num_batches * batch_size / count))])
        return orders[:num_batches * batch_size].view(num_batches, batch_size)

    def _scan(self, model: nn.Module, space: PixelSpace, images: Tensor, target_class: int) -> tuple:
        """Reverse-engineer the trigger of one class: (mask [H, W], pattern [H, W, C], success %, steps run)."""
        _, channels, height, width = images.shape
        generator = torch.Generator().manual_seed(self.seed)
        mask_weights = _unsquashed(torch.rand(height, width, generator=generator)).to(images.device)
        pattern_weights = _unsquashed(torch.rand(channels, height, width, generator=generator)).to(images.device)
        mask_weights.requires_grad_(True)
        pattern_weights.requires_grad_(True)
        optimizer = torch.optim.Adam([mask_weights, pattern_weights], lr=NC_LR, betas=NC_BETAS)
        schedule = _CostSchedule()
        best, best_norm = None, float('inf')
        with torch.enable_grad():
            for step in range(1, self.steps + 1):
                hits = seen = 0
                for indices in self._batches(len(images), generator):
                    mask, pattern = _squashed(mask_weights), _squashed(pattern_weights)
                    logits = model(space.to_inputs(stamp(images[indices.to(images.device)], mask, pattern)))
                    wanted = torch.full((len(logits),), target_class, device=logits.device)
                    loss = F.cross_entropy(logits, wanted) + schedule.cost * mask.sum()  # mask >= 0: its L1 norm
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    hits, seen = hits + int((logits.argmax(1) == target_class).sum()), seen + len(logits)
                success = hits / seen
                with torch.no_grad():
                    mask = _squashed(mask_weights).cpu().numpy()
                    pattern = _squashed(pattern_weights).permute(1, 2, 0).cpu().numpy()
                if success >= NC_SUCCESS and mask.sum() < best_norm:
                    best, best_norm = (mask, pattern, 100.0 * success), float(mask.sum())
                if schedule.after_step(success >= NC_SUCCESS, best_norm):
                    break
        return (*(best or (mask, pattern, 100.0 * success)), step)


@RECOVERIES.register_module()
class KnownTrigger(TriggerRecovery):
    """The attack's true trigger and target, as if recovery were perfect: isolates the unlearning from the
    recovery. Its success rate is measured on the clean images like NC's."""

    def __init__(self, batch_size: int = 256) -> None:
        self.batch_size = batch_size

    def recover(self, model, clean_images, pixel_normalization, target, trigger=None) -> RecoveredTriggers:
        if trigger is None:
            raise UnlearnError('KnownTrigger needs the attack\'s trigger: set task.attack, or recover it with '
                               'NeuralCleanse')
        images = _checked_images(clean_images, model)
        space = PixelSpace(*pixel_normalization, images)
        with _inference_only(model), torch.no_grad():
            hits = sum(int((model(space.to_inputs(trigger.stamp_tensor(batch))).argmax(1) == target).sum())
                       for batch in images.split(self.batch_size))
        return _recovered([target], [trigger.mask], [trigger.pattern], [100.0 * hits / len(images)], [0])
