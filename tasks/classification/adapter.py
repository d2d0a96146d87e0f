"""Classification as an unlearning task: image logits ``[N, K]``, forget = every image of a class."""
import copy
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric, Evaluator
from torch import Tensor, nn
from torch.utils.data import Dataset, Subset

from unlearn.adapter import Splits, TaskAdapter
from unlearn.config import build_from
from unlearn.errors import UnlearnError
from unlearn.evaluation import seeded_loader
from unlearn.metrics import accuracy, h_mean, mia_attack, per_class_accuracy, predicted_classes
from unlearn.metrics.mia import HEADLINE_MIA_FEATURE, INFORMATIVE_SHADOW_ACCURACY, MIA_FEATURES
from unlearn.progress import progress
from unlearn.registry import DATASETS, MODELS, TASKS
from unlearn.reports import diverged_fact


class TopOneAccuracy(BaseMetric):
    """Top-1 accuracy for mmengine's val loop: picks the best original / retrain epoch (SPEC.md §4.4)."""
    default_prefix = ''

    def process(self, data_batch, data_samples: List[tuple]) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, target = zip(*results)
        return dict(accuracy=accuracy(np.array(pred), np.array(target)))


class Relabelled(Dataset):
    """Items ``(image, relabel(i, label))`` of an ``(image, label)`` dataset, e.g. fixed random labels."""

    def __init__(self, dataset: Dataset, relabel: Callable[[int, int], int]):
        self.dataset, self.relabel = dataset, relabel

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple:
        image, label = self.dataset[index]
        return image, int(self.relabel(index, label))


def _indices_of(targets: Sequence[int], classes: Sequence[int], keep: bool) -> List[int]:
    wanted = set(classes)
    return [i for i, t in enumerate(targets) if (t in wanted) == keep]


@TASKS.register_module()
class ClassificationTask(TaskAdapter):
    """Image classification.

    Args:
        dataset: a ``DATASETS`` config building a ``ClassificationData`` (Digits, CIFAR10, ...).
        eval_batch_size: batch size of evaluation passes.
        num_workers: dataloader workers (0 = in the main process).
        eval_train_augmented: measure Acc_f, Acc_r and the MIA on augmented training images as the
            official code does (SPEC.md §2, §7.2); False uses the test transform (cleaner, not the paper's).
            The augmentations are drawn under a fixed seed per split, the same for every model and process
            (:mod:`unlearn.evaluation`).
        mia_seed: seed of the random remain subset used as the MIA's shadow members.
    """

    def __init__(self, dataset: dict, eval_batch_size: int = 256, num_workers: int = 0,
                 eval_train_augmented: bool = True, mia_seed: int = 0):
        for name, value, minimum in (('eval_batch_size', eval_batch_size, 1), ('num_workers', num_workers, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f'{name} = {value!r}: it must be an integer >= {minimum}')
        self.dataset_cfg = copy.deepcopy(dataset)
        self.data = build_from(DATASETS, dataset, 'dataset')
        self.class_names = list(self.data.class_names)
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.eval_train_augmented = eval_train_augmented
        self.mia_seed = mia_seed

    def fingerprint(self) -> Dict[str, Any]:
        return dict(task='classification', dataset=self.dataset_cfg)

    def evaluation_fingerprint(self) -> Dict[str, Any]:
        return dict(eval_train_augmented=self.eval_train_augmented, mia_seed=self.mia_seed, rng='seeded-v1')

    def build_network(self, model_cfg: dict) -> nn.Module:
        model_cfg = dict(model_cfg)
        if model_cfg.setdefault('num_classes', self.num_classes) != self.num_classes:
            raise UnlearnError(f"model.num_classes={model_cfg['num_classes']} but the dataset has "
                               f'{self.num_classes} classes; remove num_classes or set it to {self.num_classes}')
        return build_from(MODELS, model_cfg, 'model')

    def build_splits(self, forget_classes: Sequence[int]) -> Splits:
        data = self.data
        train_forget = _indices_of(data.train_targets, forget_classes, keep=True)
        test_forget = _indices_of(data.test_targets, forget_classes, keep=True)
        names = self.forget_class_names(forget_classes)
        if not train_forget:
            raise UnlearnError(f'the forget set is empty: no training image belongs to {names}')
        if not test_forget:
            raise UnlearnError(f'no test image belongs to {names}, so Acc_ft cannot be measured')
        train_remain = _indices_of(data.train_targets, forget_classes, keep=False)
        test_remain = _indices_of(data.test_targets, forget_classes, keep=False)
        train_eval = data.train if self.eval_train_augmented else data.train_eval
        return Splits(
            train=data.train,
            train_forget=Subset(data.train, train_forget),
            train_remain=Subset(data.train, train_remain),
            train_forget_eval=Subset(train_eval, train_forget),
            train_remain_eval=Subset(train_eval, train_remain),
            test=data.test,
            test_forget=Subset(data.test, test_forget),
            test_remain=Subset(data.test, test_remain),
            train_forget_clean=Subset(data.train_eval, train_forget),
            train_remain_clean=Subset(data.train_eval, train_remain))

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        return dict(dataset=dataset, batch_size=batch_size, num_workers=self.num_workers,
                    persistent_workers=self.num_workers > 0,
                    sampler=dict(type='DefaultSampler', shuffle=shuffle),
                    collate_fn=dict(type='default_collate'))

    # --- per batch ----------------------------------------------------------------------------------
    def logits(self, network: nn.Module, batch) -> Tensor:
        return network(batch[0])

    def labels(self, batch) -> Tensor:
        return batch[1]

    def erase_mask(self, batch, forget_classes: Sequence[int], all_forget_classes: bool = False) -> Tensor:
        labels = batch[1]
        mask = F.one_hot(labels, self.num_classes).bool()
        if all_forget_classes:
            mask[:, list(forget_classes)] = True
        return mask

    def supervised_loss(self, network: nn.Module, batch) -> Tensor:
        return F.cross_entropy(network(batch[0]), batch[1])

    def pixel_normalization(self) -> tuple:
        return self.data.mean, self.data.std

    def images(self, batch) -> Tensor:
        return batch[0]

    def with_images(self, batch, images: Tensor) -> list:
        return [images, *batch[1:]]

    def relabel(self, dataset: Dataset, relabel: Callable[[int, int], int]) -> Dataset:
        return Relabelled(dataset, relabel)

    def predict_for_metric(self, network: nn.Module, batch) -> list:
        pred = network(batch[0]).argmax(1)
        return list(zip(pred.tolist(), batch[1].tolist()))

    def selection_metric(self) -> tuple:
        return Evaluator([TopOneAccuracy()]), 'accuracy'

    # --- evaluation ---------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, network: nn.Module, dataset: Dataset, split: str, desc: str = '') -> tuple:
        """Softmax probabilities ``[N, K]`` and labels ``[N]`` of ``network`` on ``dataset`` (eval mode), its
        augmentations drawn under the ``split``'s seed (:meth:`evaluation_seed`)."""
        was_training = network.training
        network.eval()
        device = next(network.parameters()).device
        probs, labels = [], []
        with seeded_loader(dataset, self.evaluation_seed(split), batch_size=self.eval_batch_size,
                           num_workers=self.num_workers) as loader, progress(desc, len(dataset)) as update:
            for inputs, target in loader:
                probs.append(F.softmax(network(inputs.to(device)).float(), dim=1).cpu())
                labels.append(target)
                update(len(target))
        network.train(was_training)
        return torch.cat(probs).numpy(), torch.cat(labels).numpy()

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str) -> float:
        probs, labels = self.predict(network, dataset, split)
        return accuracy(predicted_classes(probs), labels)

    def evaluate(self, network: nn.Module, splits: Splits,
                 original: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Acc_f, Acc_r, Acc_ft, Acc_rt, H-Mean, SVC-MIA (all five features) and per-class accuracy.

        A diverged network (non-finite outputs) is still scored: its non-finite rows count as wrong
        predictions, and the MIA, whose features are undefined on them, is None (``non_finite_outputs``
        says how many rows).
        """
        forget_p, forget_y = self.predict(network, splits.train_forget_eval, 'train_forget_eval', desc='D_f')
        remain_p, remain_y = self.predict(network, splits.train_remain_eval, 'train_remain_eval', desc='D_r')
        test_p, test_y = self.predict(network, splits.test, 'test', desc='D_test')
        forget_pred, remain_pred, test_pred = (predicted_classes(p) for p in (forget_p, remain_p, test_p))
        test_forget = np.isin(np.arange(len(test_y)), np.asarray(splits.test_forget.indices))
        metrics = dict(
            acc_f=accuracy(forget_pred, forget_y),
            acc_r=accuracy(remain_pred, remain_y),
            acc_ft=accuracy(test_pred[test_forget], test_y[test_forget]),
            acc_rt=accuracy(test_pred[~test_forget], test_y[~test_forget]))
        metrics['h_mean'] = None if original is None else h_mean(
            metrics['acc_rt'], metrics['acc_ft'], original['acc_ft'])
        metrics['non_finite_outputs'] = int(sum((pred < 0).sum() for pred in (forget_pred, remain_pred, test_pred)))
        if metrics['non_finite_outputs']:
            metrics['mia'], metrics['mia_shadow_accuracy'] = None, None
            metrics['mia_all'] = dict.fromkeys(MIA_FEATURES)
        else:
            # Shadow members: a random remain subset as large as D_rt (SPEC.md §4.5), from D_r's predictions.
            n_shadow = min(int((~test_forget).sum()), len(remain_y))
            shadow = np.random.default_rng(self.mia_seed).choice(len(remain_y), n_shadow, replace=False)
            mia_all, shadow_accuracy = mia_attack(remain_p[shadow], remain_y[shadow], test_p[~test_forget],
                                                  test_y[~test_forget], forget_p, forget_y)
            metrics['mia'] = mia_all[HEADLINE_MIA_FEATURE]
            metrics['mia_all'] = mia_all
            metrics['mia_shadow_accuracy'] = shadow_accuracy[HEADLINE_MIA_FEATURE]
        metrics['per_class_acc_test'] = dict(zip(
            self.class_names, per_class_accuracy(test_pred, test_y, self.num_classes)))
        metrics['eval_train_augmented'] = self.eval_train_augmented
        return metrics

    def report_columns(self) -> List[str]:
        return ['acc_f', 'acc_r', 'acc_ft', 'acc_rt', 'h_mean', 'mia']

    def report_facts(self, rows: Dict[str, Dict[str, Any]]) -> Dict[str, str]:
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
