"""Negative Gradient: gradient ascent on the forget data's cross-entropy (SPEC.md §3.2), optionally bounded."""
from typing import Dict, Sequence

from torch import Tensor

from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .base import UnlearningMethod


@METHODS.register_module()
class NegativeGradient(UnlearningMethod):
    """Negative Gradient / gradient ascent (Golatkar et al., CVPR 2020, https://arxiv.org/abs/1911.04933;
    the official ``gradient_ascent``, SPEC.md §3.2).

    Forget data only. Minimises ``-CE(student(x), y)`` on forget batches, with no clipping or early stop.
    The official optional L1 term is off by default and not ported. Optimiser, epochs and learning rate are
    the shared ``schedule`` (SPEC.md §1.4).

    Args:
        until_forgotten: bound the ascent ("NegativeGradient (bounded)"): a sample (a pixel, for segmentation
            maps) the student no longer predicts as its forget label gives no gradient, so the ascent stops
            pushing what is already forgotten instead of driving its loss to infinity. The loss is the sum of
            the still-predicted samples' CE divided by the whole batch's (valid) size, not by the number still
            predicted: the step shrinks as samples are forgotten rather than growing onto the last few. A
            reconstruction after BaEraser's bounded ascent (backdoor defense, issue #16); BaEraser's exact dynamic
            penalty is not in the spec. It uses the task's logits and plain CE, not the task's own training loss
            (for mmseg: without the auxiliary head).
    """

    def __init__(self, until_forgotten: bool = False):
        self.until_forgotten = until_forgotten

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        if not self.until_forgotten:
            return dict(loss_neg_ce=-task.supervised_loss(model.student, batch))
        logits, labels, valid = task.logits(model.student, batch), task.labels(batch), task.valid_mask(batch)
        still = logits.detach().argmax(dim=1) == labels  # a void label (255) is never predicted
        batch_size = labels.numel() if valid is None else valid.sum().clamp(min=1)
        share = still.sum() / batch_size
        return dict(loss_neg_ce=-share * cross_entropy(logits, labels, valid_mask=still))

    @property
    def table_name(self) -> str:
        return super().table_name + (' (bounded)' if self.until_forgotten else '')
