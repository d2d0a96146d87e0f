"""Influence Unlearning: one weight edit along the forget data's loss gradient, optionally WoodFisher-scaled.

The "IU" of Jia et al. (NeurIPS 2023) as the official ``wood_fisher`` implements it (SPEC.md §3.10). Its
gradients and WoodFisher's inverse-Hessian products are computed in float32 whatever the run's precision (a
one-shot edit runs outside autocast): the rank-one updates' differences cancel badly in bfloat16.
"""
from typing import List

import torch
from torch import Tensor, nn

from unlearn.capabilities import SampleLabels
from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .base import MethodData, UnlearningMethod
from .gradients import add_flat_, batch_gradients, flatten, gradients, trainable_parameters


def _summed_gradient(model, data: MethodData, dataset, params: List[nn.Parameter], desc: str) -> tuple:
    """``sum over batches of (mean-loss gradient x batch size)`` as one flat vector, and the sample count."""
    task = model.task
    total, count = None, 0

    def loss_fn(batch):
        logits = task.logits(model.student, batch)
        return cross_entropy(logits, task.labels(batch), task.valid_mask(batch)), logits.shape[0]

    for grads, n in batch_gradients(params, data.batches(model, dataset, desc=desc), loss_fn):
        flat = flatten(grads) * n
        total = flat if total is None else total + flat
        count += n
    return total, count


def woodfisher_ihvp(model, data: MethodData, params: List[nn.Parameter], v: Tensor, n: int) -> Tensor:
    """The official WoodFisher recursion (SPEC.md §3.10) over per-sample remain gradients (batch size 1,
    shuffled), reproduced as upstream writes it: it stops after ``n + 2`` samples."""
    task = model.task
    k, o = v.clone(), None
    for idx, batch in enumerate(data.batches(model, data.remain, batch_size=1, shuffle=True,
                                             desc='WoodFisher: per-sample remain gradients')):
        with torch.enable_grad():
            loss = cross_entropy(task.logits(model.student, batch), task.labels(batch), task.valid_mask(batch))
            g = flatten(gradients(loss, params))
        if o is None:
            o = g.clone()
        else:
            t = torch.dot(o, g)
            k -= (torch.dot(k, g) / (n + t)) * o
            o -= (t / (n + t)) * o
        if idx > n:
            break
    return k


@METHODS.register_module()
class InfluenceUnlearn(UnlearningMethod):
    """Influence Unlearning (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023,
    https://arxiv.org/abs/2304.04934; the official ``wood_fisher``, SPEC.md §3.10).

    A one-shot edit in eval mode, no training; only trainable parameters move. With forget data only (the
    default, apparently Table 1's row) it is one gradient-ascent step ``θ += alpha · mean ∇CE_forget``. With
    ``use_remain_data=True`` (a grey row) it follows SalUn's ``Wfisher``: ``v = ḡ_f - ḡ_r`` with the official
    weighting, scaled by the WoodFisher inverse-Hessian recursion over ``woodfisher_samples`` per-sample
    remain gradients, then ``θ += alpha · k``.

    Args:
        alpha: step size (official ``--alpha`` 0.2, shared with Fisher; the paper's value is UNVERIFIED).
        use_remain_data: the WoodFisher variant with remaining data (official ``--retain_data``).
        woodfisher_samples: N of the recursion (official 1000, "1/50 of CIFAR-10's training set").
    """
    requires = (SampleLabels,)
    trains = False

    def __init__(self, alpha: float = 0.2, use_remain_data: bool = False, woodfisher_samples: int = 1000):
        if woodfisher_samples < 1:
            raise ValueError(f'InfluenceUnlearn: woodfisher_samples must be >= 1, got {woodfisher_samples}')
        self.alpha = alpha
        self.uses_remain_data = use_remain_data
        self.woodfisher_samples = woodfisher_samples

    def edit(self, model, data: MethodData) -> None:
        params = [p for _, p in trainable_parameters(model.student)]
        forget_grad, n_f = _summed_gradient(model, data, data.forget, params, 'Influence: forget gradient')
        if not self.uses_remain_data:
            step = forget_grad / n_f
        else:
            remain_grad, n_r = _summed_gradient(model, data, data.remain, params, 'Influence: remain gradient')
            v = forget_grad / (n_f + n_r) - remain_grad * (n_f / ((n_f + n_r) * n_r))
            step = woodfisher_ihvp(model, data, params, v, self.woodfisher_samples)
        data.log(f'Influence step: norm {step.norm():.4g}, alpha {self.alpha}')
        add_flat_(params, self.alpha * step)
