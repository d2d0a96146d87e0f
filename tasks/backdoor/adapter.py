"""Backdoor defense as an unlearning task (SPEC.md §5.2, issue #16): forget the attacker's target label on images
carrying the trigger the defender recovered from the backdoored original.

The classification machinery is reused as it is (network, logits, erase mask, relabelling, pixel space). What
this task adds: the original trains on poisoned data; the oracle on the clean images that were not poisoned;
the forget request, once the original exists, recovers the trigger and the target t̂ from it with the defender's
clean images, and its forget set is those images (outside t̂) stamped with the recovered trigger and labelled
t̂, so DELETE erases t̂ and the teacher's renormalised softmax points to each image's true class.
"""
import copy
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from torch import nn
from torch.utils.data import Dataset

from tasks.classification.adapter import ClassificationTask
from tasks.classification.datasets import InMemoryImages
from unlearn.config import build_from
from unlearn.config_check import accepted_arguments, check_keys
from unlearn.errors import UnlearnError
from unlearn.methods.attacks import PixelSpace
from unlearn.registry import TASKS
from unlearn.request import ForgetRequest, ReferenceData, resolve_classes
from unlearn.tensor_task import labels_in

from .datasets import PoisonedData, poison_dataset, stamp_stored
from .recovery import RECOVERIES, RecoveredTriggers, mad_detection, mask_iou
from .triggers import TRIGGERS, Attack, Trigger, build_attack


#: ``task.defense.stamp``: where the forget set's images get the recovered trigger.
STAMP_AFTER, STAMP_BEFORE = 'after_augmentation', 'before_augmentation'


class StampedImages(Dataset):
    """``images`` with ``trigger``, labelled ``label``: stamped in [0, 1] pixel space after their transform, so
    the trigger sits where it was recovered whatever the crop or flip, or (``before_augmentation``) on the stored
    images before it, as the attack stamps: a flip then also moves it where the model learnt its mirror image.

    ``images.targets`` keeps each image's own label (DELETE's teacher should point there). ``trigger=None``: the
    provisional forget set before any recovery (the images unstamped).
    """

    def __init__(self, images: InMemoryImages, trigger: Optional[Trigger], label: int,
                 mean: Sequence[float], std: Sequence[float], before_augmentation: bool = False):
        self.images, self.trigger, self.label = images, trigger, int(label)
        self.space = PixelSpace(mean, std, like=torch.empty(1, len(mean), 1, 1))
        self.stored = InMemoryImages(stamp_stored(images.images, trigger), images.targets, images.transform) \
            if before_augmentation else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple:
        if self.stored is not None:
            return self.stored[index][0], self.label
        image, _ = self.images[index]
        if self.trigger is not None:
            image = self.space.to_inputs(self.trigger.stamp_tensor(self.space.to_pixels(image[None])))[0]
        return image, self.label


@dataclass(frozen=True)
class Recovery:
    """The trigger recovery of one original model and what the evaluator reports of it.

    ``seconds``: the wall time of the scan (when read from the cache, the time it took then); ``cached``:
    whether it was read from the cache beside the checkpoints."""
    triggers: RecoveredTriggers
    seconds: float
    cached: bool

    def facts(self, true_trigger: Optional[Trigger], true_target: Optional[int],
              class_names: List[str]) -> Dict[str, Any]:
        """t̂, whether it is right, its anomaly index and flag, the norms, ``mask_iou`` with the true mask and
        ``mask_iou_mirrored`` with its left-right mirror image (where a training pipeline that flips images also
        puts the patch, and where Neural Cleanse may find it); a suspect model's true trigger and target are
        unknown (None), and so are ``correct`` and both IoUs."""
        detection = self.triggers.detection
        row = int(np.flatnonzero(detection.classes == detection.target)[0])
        recovered_mask = self.triggers.trigger().mask
        return dict(target=detection.target, target_name=class_names[detection.target],
                    correct=None if true_target is None else detection.target == true_target,
                    flagged=detection.target_flagged, anomaly_index=float(detection.anomaly_indices[row]),
                    norms=dict(zip((class_names[c] for c in detection.classes), detection.norms.tolist())),
                    mask_iou=None if true_trigger is None else mask_iou(recovered_mask, true_trigger.mask),
                    mask_iou_mirrored=None if true_trigger is None else mask_iou(recovered_mask,
                                                                                 true_trigger.mask[:, ::-1]),
                    recovery_s=self.seconds, cached=self.cached)


@dataclass(frozen=True)
class BackdoorRequest(ForgetRequest):
    """A forget request that also carries the recovery it was built from (None: provisional)."""
    recovery: Optional[Recovery] = None

    def preparation_s(self) -> float:
        return 0.0 if self.recovery is None else self.recovery.seconds

    def fingerprint(self) -> dict:
        """The recovered trigger and target: metrics measured with it (recovered-trigger ASR) depend on it."""
        if self.recovery is None:
            return dict(recovery=None)
        triggers = self.recovery.triggers
        digest = hashlib.sha256(np.ascontiguousarray(triggers.masks).tobytes())
        digest.update(np.ascontiguousarray(triggers.patterns).tobytes())
        return dict(recovery=digest.hexdigest()[:16], target=triggers.target)


@TASKS.register_module()
class BackdoorTask(ClassificationTask):
    """A classification dataset poisoned by an all-to-one attack towards ``forget_classes``, and its defense.

    ``attack=None`` is a suspect model of the user's (``original_checkpoint``, ``retrain=None``), trained on data
    nobody knows to be poisoned: nothing is poisoned, there is no oracle (no one knows which images to leave out)
    and no true trigger, so what needs one (ASR, RA, ASR shift, Acc_f, DER, mask IoU) is unknown; the defender
    still holds ``clean_fraction`` of the training images, and t̂, recovered from the user's model, is erased.

    Args:
        dataset: a ``DATASETS`` config of an in-memory ``uint8`` dataset (Digits, CIFAR10, ...).
        forget_classes: the attack's target (top-level config key, read here so the poisoned data and the
            models' cache keys know it): exactly one class. With ``attack=None`` only a recovery with
            ``target='given'`` reads it; otherwise the recovered t̂ decides what is erased.
        attack: ``dict(type='BadNet' | 'Blend', ..., poison_rate=0.1, seed=0)`` (``triggers.build_attack``), or
            None: a suspect model (above).
        defense: ``dict(clean_fraction=0.05, seed=0, holdout=0.0)``: the share of clean training images the
            defender holds, and the share of those it keeps out of the unlearning to validate it on (its own
            model selection: ``defender_clean_acc`` and ``defender_recovered_asr``; the recovery scans them all).
        recovery: a ``RECOVERIES`` config (``NeuralCleanse``, ``KnownTrigger``; top-level config key, so a
            recovery base file and an attack base file do not both define ``task``).
        eval_batch_size, num_workers, eval_train_augmented, mia_seed: as :class:`ClassificationTask`.
    """
    evaluator = 'BackdoorEvaluator'
    config_keys = dict(forget_classes="the backdoor's target class (exactly one; with task.attack=None read only by "
                                      "a recovery with target='given')",
                       recovery="the trigger recovery (configs/_base_/backdoor/: NeuralCleanse, KnownTrigger)")

    def __init__(self, dataset: dict, forget_classes, attack: Optional[dict], defense: Optional[dict] = None,
                 recovery: Optional[dict] = None, eval_batch_size: int = 256, num_workers: int = 0,
                 eval_train_augmented: bool = True, mia_seed: int = 0):
        super().__init__(dataset, eval_batch_size=eval_batch_size, num_workers=num_workers,
                         eval_train_augmented=eval_train_augmented, mia_seed=mia_seed)
        targets = resolve_classes(self.class_names, forget_classes)
        if len(targets) != 1:
            hint = ("name one class: with task.attack=None only a recovery with target='given' reads it (else the "
                    'recovered t̂ decides what is erased)' if attack is None else "name the attack's target only")
            raise UnlearnError(f'a backdoor task forgets one target class, but forget_classes names {len(targets)}: '
                               f'{[self.class_names[t] for t in targets]}; {hint}')
        self.target = targets[0]
        self.attack_cfg = None if attack is None else copy.deepcopy(dict(attack))
        self.defense_cfg = dict(defense or {})
        self.recovery_cfg = copy.deepcopy(dict(recovery or dict(type='NeuralCleanse')))
        check_keys(self.defense_cfg, ('clean_fraction', 'seed', 'stamp', 'holdout'), 'task.defense', list_known=True)
        if self.defense_cfg.get('stamp', STAMP_AFTER) not in (STAMP_AFTER, STAMP_BEFORE):
            raise UnlearnError(f"task.defense.stamp {self.defense_cfg['stamp']!r} is unknown: use {STAMP_AFTER!r} "
                               f'(the recovered trigger where it was found) or {STAMP_BEFORE!r} (as the attack stamps)')
        if attack is None and self.recovery_cfg.get('type') == 'KnownTrigger':
            raise UnlearnError("recovery KnownTrigger is the attack's own trigger, and task.attack=None (a suspect "
                               "model) has none: recover it with recovery=dict(type='NeuralCleanse')")
        self.recovery = build_from(RECOVERIES, self.recovery_cfg, 'recovery')
        self.attack: Optional[Attack] = None if attack is None else self._build_attack()
        self.poisoned: PoisonedData = poison_dataset(
            self.data, self.attack, self.target, clean_fraction=self.defense_cfg.get('clean_fraction', 0.05),
            defense_seed=self.defense_cfg.get('seed', 0))
        #: Indices into the defender's images: those the unlearning reads, and those held out to validate it.
        self.defender_fit, self.defender_holdout = split_defender(
            len(self.poisoned.defender), self.defense_cfg.get('holdout', 0.0), self.defense_cfg.get('seed', 0))

    def _build_attack(self) -> Attack:
        """The configured attack; a misspelt key is named with the attack's keys (the builder's TypeError would
        name a Python function)."""
        stored, cfg = self.data.train_eval.images, self.attack_cfg
        builder = TRIGGERS.get(cfg.get('type'))
        accepted = accepted_arguments(builder) if builder is not None else None
        if accepted is not None:
            check_keys(cfg, (accepted - {'image_size', 'channels'}) | {'type', 'poison_rate'}, 'task.attack',
                       list_known=True)
        try:
            return build_attack(cfg, image_size=stored.shape[-1], channels=stored.shape[1])
        except TypeError as e:
            raise UnlearnError(f"attack '{cfg.get('type')}': {e}") from e
        except KeyError as e:
            raise UnlearnError(f"unknown attack type {cfg.get('type')!r}: use one of "
                               f'{sorted(TRIGGERS.module_dict)}') from e

    def fingerprint(self) -> Dict[str, Any]:
        """The poisoned data: the dataset, the target and the attack (None: a suspect model's clean data)."""
        return dict(task='backdoor', dataset=self.dataset_cfg, target=self.target, attack=self.attack_cfg)

    def oracle_fingerprint(self) -> Dict[str, Any]:
        """The oracle's data, the clean images minus the poisoned ones: which are poisoned depends on the
        labels, the target, the rate and the seed, not on the trigger, so one oracle serves every trigger (a
        suspect model has no oracle: none of these is known)."""
        rate, seed = (None, None) if self.attack is None else (self.attack.poison_rate, self.attack.seed)
        return dict(task='backdoor-clean-remainder', dataset=self.dataset_cfg, target=self.target,
                    poison_rate=rate, poison_seed=seed)

    def _check_suspect_config(self, cfg) -> None:
        """A suspect model (``task.attack=None``) is the user's file, and nothing can be trained without the
        attack: refused before anything is trained or written."""
        if not cfg.get('original_checkpoint'):
            raise UnlearnError("task.attack=None is a suspect model of yours: set original_checkpoint='its.pth' and "
                               'retrain=None (without an attack nothing is poisoned, so there is nothing to train)')
        if cfg.get('retrain', 'train') is not None:
            raise UnlearnError('task.attack=None has no retrain oracle (without the attack nobody knows which '
                               'training images were poisoned): set retrain=None')

    def forget_request(self, cfg, original: Optional[nn.Module] = None) -> BackdoorRequest:
        """Provisional (``original=None``): the configured target and the defender's images unstamped. With the
        original: its recovered t̂ and trigger, the defender's images outside t̂ stamped and labelled t̂.

        A suspect model (``task.attack=None``) has no poisoned images and no oracle: its forget splits that are
        measured (Acc_f, the curves) are the defender's stamped images and the test images outside t̂ stamped
        with the recovered trigger."""
        suspect = self.attack is None
        if suspect:
            self._check_suspect_config(cfg)
        recovery = None if original is None else self.recover(cfg, original)
        target = self.target if recovery is None else recovery.triggers.target
        trigger = None if recovery is None else recovery.triggers.trigger()
        p, data = self.poisoned, self.data
        defender, fit = p.defender, self.defender_fit
        outside = fit[np.asarray(defender.targets)[fit] != target]
        if not len(outside):
            raise UnlearnError(f'the defender holds no clean image outside {self.class_names[target]} to unlearn '
                               'with: raise task.defense.clean_fraction (or lower task.defense.holdout)')

        def defender_images(indices, transform) -> InMemoryImages:
            return InMemoryImages(defender.images[indices], np.asarray(defender.targets)[indices], transform)

        def stamped(transform) -> StampedImages:
            return StampedImages(defender_images(outside, transform), trigger, target, data.mean, data.std,
                                 before_augmentation=self.defense_cfg.get('stamp') == STAMP_BEFORE)

        remain_eval = p.train_remain if self.eval_train_augmented else InMemoryImages(
            p.train_remain.images, p.train_remain.targets, data.train_eval.transform)
        return BackdoorRequest(
            forget_classes=[target], forget_names=[self.class_names[target]],
            train_forget=stamped(data.train.transform),
            train_remain=defender_images(fit, data.train.transform),
            train_forget_eval=stamped(data.train_eval.transform) if suspect else p.train_forget_eval,
            train_remain_eval=remain_eval,
            test_forget=stamped_test(self, trigger, target) if suspect else p.test_forget,
            test_remain=p.test_remain,
            original_data=ReferenceData(train=p.train, val=data.test),
            oracle_data=None if suspect else ReferenceData(train=p.train_remain, val=data.test,
                                                           fingerprint=self.oracle_fingerprint()),
            is_forget=lambda batch: labels_in(self.labels(batch), [target]),
            test=data.test,
            train_forget_clean=stamped(data.train_eval.transform),
            train_remain_clean=defender_images(fit, data.train_eval.transform),
            recovery=recovery)

    def defender_holdout_sets(self, trigger: Optional[Trigger], target: Optional[int]) -> tuple:
        """The defender's held-out images as it validates a defense on them: clean with their true labels, and
        those outside ``target`` stamped with ``trigger`` and labelled ``target`` (None without a trigger)."""
        defender, held, data = self.poisoned.defender, self.defender_holdout, self.data
        clean = InMemoryImages(defender.images[held], np.asarray(defender.targets)[held], data.train_eval.transform)
        if trigger is None:
            return clean, None
        return clean, StampedImages(outside_target(clean, target), trigger, target, data.mean, data.std)

    def recover(self, cfg, original: nn.Module) -> Recovery:
        """The recovery of ``original`` with the defender's pixels, cached under ``checkpoint_dir`` keyed by the
        SHA-256 of the original's weights, the data and the defense and recovery configs."""
        key = hashlib.sha256(json.dumps(dict(
            weights=weights_sha256(original), data=self.fingerprint(),
            # the scan reads every defender image and stamps none
            defense={k: v for k, v in self.defense_cfg.items() if k not in ('stamp', 'holdout')},
            recovery=self.recovery_cfg), sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = Path(cfg.checkpoint_dir) / f'recovery-{key}.npz'
        if path.is_file():
            return load_recovery(path)
        started = time.time()
        triggers = self.recovery.recover(original, self.poisoned.defender_pixels(), self.pixel_normalization(),
                                         self.target, None if self.attack is None else self.attack.trigger)
        recovery = Recovery(triggers, time.time() - started, cached=False)
        if is_main_process() and path.parent.is_dir() and os.access(path.parent, os.W_OK):
            save_recovery(recovery, path)
        return recovery


def split_defender(count: int, holdout: float, seed: int) -> tuple:
    """Sorted indices of the defender's ``count`` images: those the unlearning reads, and ``round(holdout *
    count)`` held out (drawn with a numpy ``Generator`` of ``seed``, apart from the draw of the images)."""
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0 <= holdout < 1:
        raise UnlearnError(f'task.defense.holdout {holdout!r} is outside [0, 1): set it to the share of the '
                           "defender's images kept out of the unlearning to validate it on, e.g. 0.2 (0: none)")
    held = int(round(holdout * count))
    if holdout and not held:
        raise UnlearnError(f"task.defense.holdout {holdout} of the defender's {count} images holds none out: raise "
                           'it or task.defense.clean_fraction')
    order = np.random.default_rng([seed, 1]).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


def weights_sha256(network: nn.Module) -> str:
    """SHA-256 of a network's weights (names, shapes and values): the original's identity whether it came from
    the cache or the user's file."""
    digest = hashlib.sha256()
    for name, value in network.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(value.shape)).encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_recovery(recovery: Recovery, path: Path) -> None:
    """Written to a temporary name and renamed, so a reader never sees half a file."""
    triggers = recovery.triggers
    partial = path.with_name(f'{path.stem}.{os.getpid()}.partial.npz')
    np.savez(partial, classes=triggers.classes, masks=triggers.masks, patterns=triggers.patterns,
             success_rates=triggers.success_rates, steps=triggers.steps, seconds=recovery.seconds)
    os.replace(partial, path)


def load_recovery(path: Path) -> Recovery:
    """The saved recovery; the MAD detection is recomputed from the norms (it is a function of them)."""
    saved = np.load(path)
    triggers = RecoveredTriggers(saved['classes'], saved['masks'], saved['patterns'], saved['success_rates'],
                                 saved['steps'], mad_detection(saved['masks'].sum(axis=(1, 2)), saved['classes']))
    return Recovery(triggers, float(saved['seconds']), cached=True)


def outside_target(images: InMemoryImages, target: int) -> InMemoryImages:
    """``images`` whose label is not ``target``, in order: those a trigger's attack success is measured on."""
    labels = np.asarray(images.targets)
    keep = np.flatnonzero(labels != target)
    return InMemoryImages(images.images[keep], labels[keep], images.transform)


def stamped_test(task: BackdoorTask, trigger: Optional[Trigger], target: int) -> Dataset:
    """Clean test images outside ``target`` with ``trigger`` stamped (None: unstamped), labelled ``target``: their
    accuracy is the trigger's attack success rate."""
    data = task.data
    return StampedImages(outside_target(data.test, target), trigger, target, data.mean, data.std)
