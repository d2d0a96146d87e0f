"""How a backdoor defense is scored, in percent (issue #16, BackdoorBench's metrics): the clean accuracy, the attack
success rate (ASR) of the true trigger, the recovered true labels (RA), the trigger shifted to another class,
the defense effectiveness rating (DER), and what the trigger recovery found.
"""
from pathlib import Path
from typing import Dict, Optional

import numpy as np
from torch import nn

from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.evaluator import Metrics
from unlearn.metrics import accuracy, per_class_accuracy, predicted_classes
from unlearn.registry import EVALUATORS
from unlearn.reports import save_figure

from .adapter import BackdoorRequest, stamped_test
from .visualization import trigger_recovery_figure, triggered_examples_figure


def defense_effectiveness(original: Metrics, metrics: Metrics) -> float:
    """BackdoorBench's DER, in percent: ``[max(0, ΔASR) - max(0, ΔACC) + 1] / 2`` with the Δs the original's
    minus the model's, in fractions (so 50 means no change, 100 the ASR gone at no clean-accuracy cost)."""
    drop_asr = max(0.0, (original['asr'] - metrics['asr']) / 100)
    drop_clean = max(0.0, (original['clean_acc'] - metrics['clean_acc']) / 100)
    return 100 * (drop_asr - drop_clean + 1) / 2


def shifted_share(pred: np.ndarray, true: np.ndarray, target: int, num_classes: int) -> float:
    """The largest share (percent) of triggered images sent to one class other than the target and their own:
    gradient ascent's "trigger shifting" moves the backdoor rather than removing it."""
    elsewhere = (pred != target) & (pred != true) & (pred >= 0)
    counts = np.bincount(pred[elsewhere], minlength=num_classes)
    return float(100 * counts.max() / len(pred)) if len(pred) else 0.0


@EVALUATORS.register_module()
class BackdoorEvaluator(ClassificationEvaluator):
    """``clean_acc`` (clean test top-1), ``asr`` (triggered non-target test images predicted as the target),
    ``ra`` (the same predicted as their true class), ``asr_shift``, ``der`` (against the original), ``acc_f``
    (poisoned training samples still predicted as the target), ``clean_acc_target`` (the target class's own
    clean test accuracy), ``recovered_asr`` (the recovered trigger's success on the clean test images outside
    t̂), and ``recovery`` (t̂, whether right, its anomaly index, ``mask_iou`` and ``mask_iou_mirrored``,
    ``recovery_s``). With ``task.defense.holdout``, what the defender can measure itself on the images it held
    out: ``defender_clean_acc`` and ``defender_recovered_asr`` (the recovered trigger's success on them)."""
    columns = dict(clean_acc='Clean acc ↑', clean_acc_target='Target clean acc ↑', asr='ASR ↓', ra='RA ↑',
                   asr_shift='ASR shift ↓', der='DER ↑', acc_f='Acc_f ↓', recovered_asr='Recovered-trigger ASR ↓',
                   defender_clean_acc="Defender's held-out clean acc ↑",
                   defender_recovered_asr="Defender's held-out recovered-trigger ASR ↓")
    #: Left out of the report of a defense that holds no image out (``task.defense.holdout`` 0): all None there.
    DEFENDER_COLUMNS = ('defender_clean_acc', 'defender_recovered_asr')

    def __init__(self, task):
        super().__init__(task)
        if not len(task.defender_holdout):
            self.columns = {k: v for k, v in type(self).columns.items() if k not in self.DEFENDER_COLUMNS}

    def fingerprint(self) -> Dict:
        task = self.task
        return dict(super().fingerprint(), backdoor='backdoor-v2', defense=task.defense_cfg,
                    recovery=task.recovery_cfg)

    def evaluate(self, network: nn.Module, request: BackdoorRequest, original: Optional[Metrics] = None) -> Metrics:
        """A suspect model (``task.attack=None``) has no true trigger: ASR, RA, ASR shift, Acc_f and DER are None
        and ``clean_acc_target`` is t̂'s (None before a recovery)."""
        task = self.task
        recovery = getattr(request, 'recovery', None)
        clean_p, clean_y = self.predict(network, request.test_remain, 'test_remain', desc='clean test')
        clean_pred = predicted_classes(clean_p)
        per_class = per_class_accuracy(clean_pred, clean_y, task.num_classes)
        if task.attack is None:
            target = None if recovery is None else recovery.triggers.target
            metrics = dict(clean_acc=accuracy(clean_pred, clean_y), asr=None, ra=None, asr_shift=None, acc_f=None,
                           clean_acc_target=None if target is None else per_class[target])
        else:
            metrics = dict(clean_acc=accuracy(clean_pred, clean_y), **self._true_trigger_metrics(network, request),
                           clean_acc_target=per_class[task.target])
        metrics['per_class_acc_test'] = dict(zip(task.class_names, per_class))
        metrics['der'] = None if original is None or task.attack is None else defense_effectiveness(original, metrics)
        metrics.update(self._defender_metrics(network, request))
        if recovery is None:
            metrics['recovered_asr'], metrics['recovery'] = None, None
        else:
            detected = recovery.triggers.target
            metrics['recovered_asr'] = self.accuracy(
                network, stamped_test(task, recovery.triggers.trigger(), detected), 'recovered_trigger', request)
            true_trigger = None if task.attack is None else task.attack.trigger
            metrics['recovery'] = recovery.facts(true_trigger, None if task.attack is None else task.target,
                                                 task.class_names)
        return metrics

    def _defender_metrics(self, network: nn.Module, request: BackdoorRequest) -> Metrics:
        """The clean accuracy and the recovered trigger's ASR on the defender's held-out images (None without
        held-out images, or without a recovery for the ASR)."""
        task = self.task
        if not len(task.defender_holdout):
            return dict(defender_clean_acc=None, defender_recovered_asr=None)
        recovery = getattr(request, 'recovery', None)
        trigger, target = (None, None) if recovery is None else (recovery.triggers.trigger(), recovery.triggers.target)
        clean, stamped = task.defender_holdout_sets(trigger, target)
        return dict(defender_clean_acc=self.accuracy(network, clean, 'defender_holdout', request),
                    defender_recovered_asr=None if stamped is None else self.accuracy(
                        network, stamped, 'defender_holdout_triggered', request))

    def _true_trigger_metrics(self, network: nn.Module, request: BackdoorRequest) -> Metrics:
        """ASR, RA and ASR shift on the triggered test images, Acc_f on the poisoned training images."""
        task = self.task
        target = task.target
        triggered_p, _ = self.predict(network, request.test_forget, 'test_forget', desc='triggered test')
        forget_p, _ = self.predict(network, request.train_forget_eval, 'train_forget_eval', desc='poisoned train')
        triggered_pred = predicted_classes(triggered_p)
        true = np.asarray(task.poisoned.test_forget_true_targets)
        return dict(asr=accuracy(triggered_pred, np.full_like(true, target)), ra=accuracy(triggered_pred, true),
                    asr_shift=shifted_share(triggered_pred, true, target, task.num_classes),
                    acc_f=accuracy(predicted_classes(forget_p), np.full(len(forget_p), target)))

    def facts(self, rows: Dict[str, Metrics]) -> Dict[str, str]:
        task = self.task
        defender = f'the defender holds {len(task.poisoned.defender)} clean training images'
        if task.attack is None:
            facts = {'attack': 'none known (task.attack=None): the Original is a suspect model of yours, trained on '
                               'data nobody knows to be poisoned; with no true trigger its ASR is unknown, and so are '
                               f'RA, ASR shift, Acc_f and DER; {defender}'}
        else:
            facts = {
                'attack': f"{task.attack_cfg} towards '{task.class_names[task.target]}': "
                          f'{len(task.poisoned.poisoned_indices)} poisoned training images; the defender holds '
                          f'{len(task.poisoned.defender)} clean ones',
                'ASR / RA / ASR shift': 'the non-target test images with the true trigger: predicted as the target / '
                                        'as their true class / the most of them sent to one other class',
                'DER': '[max(0, ΔASR) - max(0, ΔClean acc) + 1] / 2 in percent, Δ = Original - model (BackdoorBench)',
                'Acc_f': 'the poisoned training images still predicted as the target'}
        recovery = list(rows.values())[-1].get('recovery')
        if recovery:
            verdict = (f"anomaly index {recovery['anomaly_index']:.2f}, "
                       f"{'flagged' if recovery['flagged'] else 'not flagged'}")
            if recovery['correct'] is not None:
                verdict = f"{'right' if recovery['correct'] else 'WRONG'}; {verdict}"
            iou = '' if recovery['mask_iou'] is None else (
                f", mask IoU with the true trigger {recovery['mask_iou']:.2f} (with its mirror image "
                f"{recovery['mask_iou_mirrored']:.2f})")
            facts['trigger recovery'] = (
                f"{task.recovery_cfg['type']} on the Original: t̂ = '{recovery['target_name']}' ({verdict}){iou}, "
                f"{recovery['recovery_s']:.1f} s" + (' (read from the cache)' if recovery['cached'] else ''))
        return facts

    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], rows: Dict[str, Metrics],
                      request: BackdoorRequest) -> None:
        """``trigger_recovery.png`` (the scan of the Original) and ``triggered_examples.png`` (each model on test
        images with the true trigger, where there is one, and the recovered one); none without a recovery to
        show."""
        recovery = getattr(request, 'recovery', None)
        if recovery is None:
            return
        save_figure(trigger_recovery_figure(self.task, recovery.triggers), folder / 'trigger_recovery.png')
        save_figure(triggered_examples_figure(self.task, recovery.triggers.trigger(), networks,
                                              recovery.triggers.target), folder / 'triggered_examples.png')
