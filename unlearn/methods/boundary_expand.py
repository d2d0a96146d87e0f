"""Boundary Expand: add a shadow class, push every forget sample into it, then prune it away.

Chen et al., "Boundary Unlearning", CVPR 2023 (SPEC.md §3.5): the classifier ``fc`` gets a (K+1)-th output,
the forget data is trained toward it, and pruning that output leaves a K-way model in which the forget
samples have lost their region of feature space.
"""
from typing import Dict, Sequence

import torch
from torch import Tensor, nn

from unlearn.errors import UnlearnError
from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .base import UnlearningMethod


class ShadowClassifier(nn.Linear):
    """``fc`` widened by one shadow class (the last output). Out of training mode it hides the shadow logit,
    as the official per-epoch evaluation does (SPEC.md §2), so predictions and curves stay K-way."""

    def forward(self, features: Tensor) -> Tensor:
        logits = super().forward(features)
        return logits if self.training else logits[:, :-1]


@METHODS.register_module()
class BoundaryExpand(UnlearningMethod):
    """Boundary Expand (Chen et al., CVPR 2023, https://arxiv.org/abs/2303.11570; SPEC.md §3.5).

    Forget data only; needs the classifier to be an ``nn.Linear`` named ``fc``. Setup widens ``fc`` to
    K+1 outputs (Xavier-normal weights, zero bias, rows 0..K-1 copied from the original; frozen whole if
    the original ``fc`` is, SPEC.md §1.6); training minimises ``CE(student(x), K)``; finalize keeps rows
    0..K-1 of the trained ``fc`` as a plain K-way ``nn.Linear``. It has no hyper-parameters of its own.

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4; the original paper's code
    used lr 1e-5 and 10 epochs). Not reproduced: the official first batch of each epoch runs in eval mode
    (SPEC.md §7.9).
    """

    def check(self, task, network: nn.Module) -> None:
        if not isinstance(getattr(network, 'fc', None), nn.Linear):
            raise UnlearnError(f'it needs a classifier nn.Linear named fc to add its shadow class to, and '
                               f'{type(network).__name__} has none')

    def setup(self, model, data) -> None:
        fc: nn.Linear = model.student.fc
        num_classes = fc.out_features
        widened = ShadowClassifier(fc.in_features, num_classes + 1).to(fc.weight.device)
        nn.init.xavier_normal_(widened.weight)
        nn.init.zeros_(widened.bias)
        with torch.no_grad():
            widened.weight[:num_classes] = fc.weight
            widened.bias[:num_classes] = fc.bias
        widened.requires_grad_(fc.weight.requires_grad)
        model.student.fc = widened

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        logits = task.logits(model.student, batch)
        shadow = torch.full_like(task.labels(batch), logits.shape[1] - 1)
        return dict(loss_ce=cross_entropy(logits, shadow, task.valid_mask(batch)))

    def finalize(self, model) -> None:
        widened: nn.Linear = model.student.fc
        pruned = nn.Linear(widened.in_features, widened.out_features - 1).to(widened.weight.device)
        with torch.no_grad():
            pruned.weight.copy_(widened.weight[:-1])
            pruned.bias.copy_(widened.bias[:-1])
        model.student.fc = pruned.requires_grad_(widened.weight.requires_grad)
