"""Saliency Unlearning (SalUn): Random Label restricted to the weights most salient for the forget data.

Fan et al., ICLR 2024 (SPEC.md §3.6): a mask keeps the top fraction of weights by the forget loss's gradient
magnitude; only those train. The masked-out weights must stay exactly the original's, which momentum and
weight decay would otherwise move (SalUn's own issue #32, open for ten months).
"""
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from torch import Tensor, nn

from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .base import MethodData, Phase
from .gradients import batch_gradients
from .random_label import RandomLabel


def saliency_mask(model, data: MethodData, threshold_ratio: float) -> List[Tensor]:
    """One boolean mask per student parameter: True for the ``threshold_ratio`` share of all entries with the
    largest ``|sum over forget batches of ∇ mean CE|`` of the original model in eval mode, ranked globally
    across tensors (SPEC.md §3.6). Frozen parameters have no gradient and rank last."""
    task, student = model.task, model.student
    params = list(student.parameters())
    trainable = [p for p in params if p.requires_grad]
    sums = [torch.zeros_like(p) for p in trainable]

    def loss_fn(batch):
        logits = task.logits(student, batch)
        return cross_entropy(logits, task.labels(batch), task.valid_mask(batch)), logits.shape[0]

    was_training = student.training
    student.eval()
    for grads, _ in batch_gradients(trainable, data.batches(model, data.forget, desc='SalUn: saliency mask'),
                                    loss_fn):
        for total, g in zip(sums, grads):
            total += g
    student.train(was_training)
    saliency = iter(sums)
    magnitudes = [next(saliency).abs() if p.requires_grad else torch.zeros_like(p) for p in params]
    flat = torch.cat([m.reshape(-1) for m in magnitudes])
    keep = torch.zeros_like(flat, dtype=torch.bool)
    keep[torch.topk(flat, int(flat.numel() * threshold_ratio), sorted=False).indices] = True
    return [m.view_as(p) for m, p in zip(keep.split([p.numel() for p in params]), params)]


class KeepMaskedWeights(Hook):
    """After every optimiser step, put the masked-out weights back to the original values and clear their
    optimiser state (momentum, Adam moments). The gradient mask alone does not hold them: SGD adds weight
    decay inside its step, and momentum carries earlier updates."""
    priority = 'HIGH'  # before anything that reads the weights after the step (e.g. the curve hook)

    def __init__(self, method: 'SalUn'):
        self.method = method

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        optimizer = runner.optim_wrapper.optimizer
        with torch.no_grad():
            for p, keep, original in zip(self.method.params, self.method.masks, self.method.originals):
                p.copy_(torch.where(keep, p, original))
                for value in optimizer.state.get(p, {}).values():
                    if torch.is_tensor(value) and value.shape == p.shape:
                        value.masked_fill_(~keep, 0)


@METHODS.register_module()
class SalUn(RandomLabel):
    """Saliency Unlearning (Fan et al., ICLR 2024, https://arxiv.org/abs/2310.12508; SPEC.md §3.6).

    Random Label (fixed random labels, cross-entropy) where only the salient weights train: each gradient
    is multiplied by the saliency mask, and after each step the masked-out weights are restored bit for bit
    (upstream SalUn's fix; with ``weight_decay=0`` they never move anyway). With ``use_remain_data=True`` (a
    grey row) every epoch is a pass over the forget data and then one over the whole remaining data with
    the true labels, masked the same way (SalUn's CIFAR-10 RL loop).

    Args:
        threshold_ratio: share of weights that train (official ``--threshold_ratio`` 0.5, which overrides the
            function's own 0.1; SPEC.md §7.10).
        use_remain_data: add the remain pass (official ``--retain_data``).
        use_mask: official ``--salun_mask``; False reduces SalUn to Random Label.
        exclude_true_label: as :class:`RandomLabel`.

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4).
    """

    def __init__(self, threshold_ratio: float = 0.5, use_remain_data: bool = False, use_mask: bool = True,
                 exclude_true_label: bool = False):
        super().__init__(exclude_true_label=exclude_true_label)
        if not 0.0 < threshold_ratio <= 1.0:
            raise ValueError(f'SalUn: threshold_ratio must be in (0, 1], got {threshold_ratio}')
        self.threshold_ratio = threshold_ratio
        self.uses_remain_data = use_remain_data
        self.use_mask = use_mask
        self.params: List[nn.Parameter] = []
        self.masks: List[Tensor] = []
        self.originals: List[Tensor] = []
        self._handles: list = []
        self._hook: Optional[KeepMaskedWeights] = None

    def phases(self, data: MethodData) -> List[Phase]:
        forget = super().phases(data)
        return forget + [Phase('remain', data.remain)] if self.uses_remain_data else forget

    def setup(self, model, data: MethodData) -> None:
        if not self.use_mask:
            return
        self.params = list(model.student.parameters())
        self.masks = saliency_mask(model, data, self.threshold_ratio)
        self.originals = [p.detach().clone() for p in self.params]
        self._handles = [p.register_hook(lambda g, keep=keep: g * keep)
                         for p, keep in zip(self.params, self.masks) if p.requires_grad]
        self._hook = KeepMaskedWeights(self)

    def hooks(self) -> list:
        return [self._hook] if self._hook else []

    def finalize(self, model) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
