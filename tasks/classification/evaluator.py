"""How a classification model is scored: Acc_f, Acc_r, Acc_ft, Acc_rt, H-Mean and the SVC-MIA (SPEC.md §4.5)."""
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric, Evaluator
from torch import nn
from torch.utils.data import Dataset

from unlearn.evaluator import Metrics, TaskEvaluator
from unlearn.inference import device_of, predict
from unlearn.metrics import accuracy, h_mean, mia_attack, per_class_accuracy, predicted_classes
from unlearn.metrics.mia import HEADLINE_MIA_FEATURE, INFORMATIVE_SHADOW_ACCURACY, MIA_FEATURES
from unlearn.registry import EVALUATORS
from unlearn.reports import diverged_fact
from unlearn.request import ForgetRequest


class TopOneAccuracy(BaseMetric):
    """Top-1 accuracy for mmengine's val loop: picks the best original / retrain epoch (SPEC.md §4.4)."""
    default_prefix = ''

    def process(self, data_batch, data_samples: List[tuple]) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, target = zip(*results)
        return dict(accuracy=accuracy(np.array(pred), np.array(target)))


def _probabilities(network: nn.Module, batch) -> tuple:
    inputs, target = batch[0], batch[1]
    return F.softmax(network(inputs.to(device_of(network))).float(), dim=1).cpu(), target


@EVALUATORS.register_module()
class ClassificationEvaluator(TaskEvaluator):
    """The paper's classification metrics of a model on a forget request, with the task's evaluation settings
    (``eval_batch_size``, ``num_workers``, ``eval_train_augmented``, ``mia_seed``)."""
    columns = dict(acc_f='Acc_f ↓', acc_r='Acc_r ↑', acc_ft='Acc_ft ↓', acc_rt='Acc_rt ↑', h_mean='H-Mean ↑',
                   mia='MIA ↓')

    def fingerprint(self) -> Dict[str, Any]:
        task = self.task
        return dict(eval_train_augmented=task.eval_train_augmented, mia_seed=task.mia_seed, rng='seeded-v1')

    def predict(self, network: nn.Module, dataset: Dataset, split: str, desc: str = '') -> tuple:
        """Softmax probabilities ``[N, K]`` and labels ``[N]`` of ``network`` on ``dataset``, its augmentations
        drawn under the ``split``'s seed (:meth:`seed`)."""
        outputs = predict(network, dataset, _probabilities, seed=self.seed(split),
                          batch_size=self.task.eval_batch_size, num_workers=self.task.num_workers, desc=desc)
        probs, labels = zip(*outputs)
        return torch.cat(probs).numpy(), torch.cat(labels).numpy()

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str, request: ForgetRequest) -> float:
        probs, labels = self.predict(network, dataset, split)
        return accuracy(predicted_classes(probs), labels)

    def selection_metric(self) -> tuple:
        return Evaluator([TopOneAccuracy()]), 'accuracy'

    def predict_for_metric(self, network: nn.Module, batch) -> list:
        pred = network(batch[0]).argmax(1)
        return list(zip(pred.tolist(), batch[1].tolist()))

    def evaluate(self, network: nn.Module, request: ForgetRequest, original: Optional[Metrics] = None) -> Metrics:
        """Acc_f, Acc_r, Acc_ft, Acc_rt, H-Mean, SVC-MIA (all five features) and per-class accuracy.

        A diverged network (non-finite outputs) is still scored: its non-finite rows count as wrong
        predictions, and the MIA, whose features are undefined on them, is None (``non_finite_outputs``
        says how many rows).
        """
        forget_p, forget_y = self.predict(network, request.train_forget_eval, 'train_forget_eval', desc='D_f')
        remain_p, remain_y = self.predict(network, request.train_remain_eval, 'train_remain_eval', desc='D_r')
        test_forget_p, test_forget_y = self.predict(network, request.test_forget, 'test_forget', desc='D_ft')
        test_remain_p, test_remain_y = self.predict(network, request.test_remain, 'test_remain', desc='D_rt')
        predictions = [predicted_classes(p) for p in (forget_p, remain_p, test_forget_p, test_remain_p)]
        forget_pred, remain_pred, test_forget_pred, test_remain_pred = predictions
        metrics = dict(
            acc_f=accuracy(forget_pred, forget_y),
            acc_r=accuracy(remain_pred, remain_y),
            acc_ft=accuracy(test_forget_pred, test_forget_y),
            acc_rt=accuracy(test_remain_pred, test_remain_y))
        metrics['h_mean'] = None if original is None else h_mean(
            metrics['acc_rt'], metrics['acc_ft'], original['acc_ft'])
        metrics['non_finite_outputs'] = int(sum((pred < 0).sum() for pred in predictions))
        if metrics['non_finite_outputs']:
            metrics['mia'], metrics['mia_shadow_accuracy'] = None, None
            metrics['mia_all'] = dict.fromkeys(MIA_FEATURES)
        else:
            # Shadow members: a random remain subset as large as D_rt (SPEC.md §4.5), from D_r's predictions.
            n_shadow = min(len(test_remain_y), len(remain_y))
            shadow = np.random.default_rng(self.task.mia_seed).choice(len(remain_y), n_shadow, replace=False)
            mia_all, shadow_accuracy = mia_attack(remain_p[shadow], remain_y[shadow], test_remain_p,
                                                  test_remain_y, forget_p, forget_y)
            metrics['mia'] = mia_all[HEADLINE_MIA_FEATURE]
            metrics['mia_all'] = mia_all
            metrics['mia_shadow_accuracy'] = shadow_accuracy[HEADLINE_MIA_FEATURE]
        test_pred = np.concatenate([test_forget_pred, test_remain_pred])
        test_y = np.concatenate([test_forget_y, test_remain_y])
        metrics['per_class_acc_test'] = dict(zip(
            self.task.class_names, per_class_accuracy(test_pred, test_y, self.task.num_classes)))
        metrics['eval_train_augmented'] = self.task.eval_train_augmented
        return metrics

    def facts(self, rows: Dict[str, Metrics]) -> Dict[str, str]:
        metrics = list(rows.values())[-1]
        facts = {'Acc_f / Acc_r / MIA measured on': 'augmented training images (as the official code; the same '
                 'augmentations, drawn under a fixed seed, for every model)'
                 if metrics.get('eval_train_augmented') else 'training images without augmentation'}
        if metrics.get('non_finite_outputs'):
            facts['Diverged'] = diverged_fact(metrics['non_finite_outputs'], 'images', ', and the MIA is not computed')
        shadow = {name: row['mia_shadow_accuracy'] for name, row in rows.items()
                  if row.get('mia_shadow_accuracy') is not None}
        if shadow:
            facts['MIA'] = ('SVC on the confidence feature (all five features in metrics.json: mia_all); how well the '
                            'attack tells members from non-members on its own shadow data (50% is chance): ' +
                            ', '.join(f'{name} {accuracy:.1f}%' + (
                                ' (at chance: its MIA says nothing)' if accuracy < INFORMATIVE_SHADOW_ACCURACY else '')
                                for name, accuracy in shadow.items()))
        return facts
