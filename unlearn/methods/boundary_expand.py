"""Boundary Expand: add a shadow class, push every forget sample into it, then prune it away.

Chen et al., "Boundary Unlearning", CVPR 2023 (SPEC.md §3.5): the classifier gets a (K+1)-th output,
the forget data is trained toward it, and pruning that output leaves a K-way model in which the forget
samples have lost their region of feature space.
"""
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor, nn

from unlearn.errors import UnlearnError
from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .base import UnlearningMethod


class ShadowClassifier(nn.Linear):
    """The classifier widened by one shadow class (the last output). Out of training mode it hides the shadow logit,
    as the official per-epoch evaluation does (SPEC.md §2), so predictions and curves stay K-way."""

    def forward(self, features: Tensor) -> Tensor:
        logits = super().forward(features)
        return logits if self.training else logits[:, :-1]


@METHODS.register_module()
class BoundaryExpand(UnlearningMethod):
    """Boundary Expand (Chen et al., CVPR 2023, https://arxiv.org/abs/2303.11570; SPEC.md §3.5).

    Forget data only; needs the task's classifier (``task.classifier(network)``, whatever its name) to be an
    ``nn.Linear``. Setup widens it to K+1 outputs (Xavier-normal weights, zero bias, rows 0..K-1 copied from
    the original; frozen whole if the original classifier is, SPEC.md §1.6); training minimises
    ``CE(student(x), K)``; finalize keeps rows 0..K-1 of the trained classifier as a plain K-way ``nn.Linear``.
    It has no hyper-parameters of its own.

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4; the original paper's code
    used lr 1e-5 and 10 epochs). Not reproduced: the official first batch of each epoch runs in eval mode
    (SPEC.md §7.9).
    """

    def __init__(self):
        self.shadow: Optional[ShadowClassifier] = None

    def check(self, task, network: nn.Module) -> None:
        classifier = task.classifier(network)
        if type(classifier) is not nn.Linear:
            raise UnlearnError(f'it needs an nn.Linear classifier to add its shadow class to, and the classifier of '
                               f'{type(network).__name__} is {type(classifier).__name__}')

    def setup(self, model, data) -> None:
        classifier: nn.Linear = model.task.classifier(model.student)
        num_classes = classifier.out_features
        widened = ShadowClassifier(classifier.in_features, num_classes + 1).to(classifier.weight.device)
        nn.init.xavier_normal_(widened.weight)
        nn.init.zeros_(widened.bias)
        with torch.no_grad():
            widened.weight[:num_classes] = classifier.weight
            widened.bias[:num_classes] = classifier.bias
        widened.requires_grad_(classifier.weight.requires_grad)
        replace_module(model.student, classifier, widened)
        self.shadow = widened

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        logits = task.logits(model.student, batch)
        shadow = torch.full_like(task.labels(batch), logits.shape[1] - 1)
        return dict(loss_ce=cross_entropy(logits, shadow, task.valid_mask(batch)))

    def finalize(self, model) -> None:
        widened = self.shadow
        pruned = nn.Linear(widened.in_features, widened.out_features - 1).to(widened.weight.device)
        with torch.no_grad():
            pruned.weight.copy_(widened.weight[:-1])
            pruned.bias.copy_(widened.bias[:-1])
        replace_module(model.student, widened, pruned.requires_grad_(widened.weight.requires_grad))
        self.shadow = None


def replace_module(network: nn.Module, old: nn.Module, new: nn.Module) -> None:
    """Put ``new`` where ``old`` is in ``network`` (found by identity, so the layer's name does not matter)."""
    for name, module in network.named_modules():
        if module is old:
            parent_name, _, attribute = name.rpartition('.')
            setattr(network.get_submodule(parent_name) if parent_name else network, attribute, new)
            return
    raise UnlearnError(f'{type(old).__name__} is not a layer of {type(network).__name__}')
