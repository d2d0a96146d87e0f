"""Negative Gradient: gradient ascent on the forget data's cross-entropy (SPEC.md §3.2)."""
from typing import Dict, Sequence

from torch import Tensor

from unlearn.registry import METHODS

from .base import UnlearningMethod


@METHODS.register_module()
class NegativeGradient(UnlearningMethod):
    """Negative Gradient / gradient ascent (Golatkar et al., CVPR 2020, https://arxiv.org/abs/1911.04933;
    the official ``gradient_ascent``, SPEC.md §3.2).

    Forget data only. Minimises ``-CE(student(x), y)`` on forget batches, with no clipping or early stop.
    It has no hyper-parameters of its own (the official optional L1 term is off by default and not ported).
    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4).
    """

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        return dict(loss_neg_ce=-model.task.supervised_loss(model.student, batch))
