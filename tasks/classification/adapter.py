"""Classification as an unlearning task: image logits ``[N, K]``, forget = every image of a class."""
import copy
from typing import Any, Dict, List, Optional, Sequence

from torch import nn
from torch.utils.data import Subset

from unlearn.config import build_from
from unlearn.errors import UnlearnError
from unlearn.registry import DATASETS, MODELS, TASKS
from unlearn.request import ForgetRequest, ReferenceData, resolve_classes
from unlearn.tensor_task import TensorImages, TensorTask, labels_in

from .datasets import ClassificationData


def _indices_of(targets: Sequence[int], classes: Sequence[int], keep: bool) -> List[int]:
    wanted = set(classes)
    return [i for i, t in enumerate(targets) if (t in wanted) == keep]


@TASKS.register_module()
class ClassificationTask(TensorTask, TensorImages):
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
    evaluator = 'ClassificationEvaluator'

    def __init__(self, dataset: dict, eval_batch_size: int = 256, num_workers: int = 0,
                 eval_train_augmented: bool = True, mia_seed: int = 0):
        for name, value, minimum in (('eval_batch_size', eval_batch_size, 1), ('num_workers', num_workers, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f'{name} = {value!r}: it must be an integer >= {minimum}')
        self.dataset_cfg = copy.deepcopy(dataset)
        self.data = self._load_data(dataset)
        super().__init__(self.data.class_names, num_workers=num_workers)
        self.eval_batch_size = eval_batch_size
        self.eval_train_augmented = eval_train_augmented
        self.mia_seed = mia_seed

    def _load_data(self, dataset: dict) -> ClassificationData:
        """The data the task classifies (a subclass may build more from the same config, e.g. faces)."""
        return build_from(DATASETS, dataset, 'dataset')

    def fingerprint(self) -> Dict[str, Any]:
        return dict(task='classification', dataset=self.dataset_cfg)

    def build_network(self, model_cfg: dict) -> nn.Module:
        model_cfg = dict(model_cfg)
        if model_cfg.setdefault('num_classes', self.num_classes) != self.num_classes:
            raise UnlearnError(f"model.num_classes={model_cfg['num_classes']} but the dataset has "
                               f'{self.num_classes} classes; remove num_classes or set it to {self.num_classes}')
        return build_from(MODELS, model_cfg, 'model')

    def forget_request(self, cfg, original: Optional[nn.Module] = None) -> ForgetRequest:
        """Every image of the forget classes; the oracle trains on the others (SPEC.md §4.1)."""
        classes = resolve_classes(self.class_names, cfg.forget_classes)
        data = self.data
        train_forget = _indices_of(data.train_targets, classes, keep=True)
        test_forget = _indices_of(data.test_targets, classes, keep=True)
        names = [self.class_names[i] for i in classes]
        if not train_forget:
            raise UnlearnError(f'the forget set is empty: no training image belongs to {names}')
        if not test_forget:
            raise UnlearnError(f'no test image belongs to {names}, so Acc_ft cannot be measured')
        train_remain = _indices_of(data.train_targets, classes, keep=False)
        test_remain = _indices_of(data.test_targets, classes, keep=False)
        train_eval = data.train if self.eval_train_augmented else data.train_eval
        return ForgetRequest(
            forget_classes=classes, forget_names=names,
            train_forget=Subset(data.train, train_forget),
            train_remain=Subset(data.train, train_remain),
            train_forget_eval=Subset(train_eval, train_forget),
            train_remain_eval=Subset(train_eval, train_remain),
            test_forget=Subset(data.test, test_forget),
            test_remain=Subset(data.test, test_remain),
            original_data=ReferenceData(train=data.train, val=data.test),
            oracle_data=ReferenceData(train=Subset(data.train, train_remain), val=Subset(data.test, test_remain)),
            is_forget=lambda batch: labels_in(self.labels(batch), classes),
            test=data.test,
            train_forget_clean=Subset(data.train_eval, train_forget),
            train_remain_clean=Subset(data.train_eval, train_remain))

    def pixel_normalization(self) -> tuple:
        return self.data.mean, self.data.std
