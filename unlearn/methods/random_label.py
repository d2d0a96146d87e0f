"""Random Label: fine-tune the forget data toward random labels drawn once before training.

The relabelling baseline of Golatkar et al. (CVPR 2020) as used by SalUn and DELETE (SPEC.md §3.1): every
forget sample gets a random class for the whole run and the model is trained on it with cross-entropy.
"""
from typing import Dict, List, Sequence

import torch
from torch import Tensor

from unlearn.capabilities import Relabelling
from unlearn.registry import METHODS

from .base import MethodData, Phase, UnlearningMethod


class FixedRandomLabels:
    """``relabel(i, y)``: sample ``i``'s random label, drawn once (the official ``fixed_noise_label``).

    Uniform over all K classes, the true one included (the official ``approx_different=True``), or with
    ``exclude_true_label`` the true label shifted by 1..K-1, so it always differs (SPEC.md §2).
    """

    def __init__(self, num_samples: int, num_classes: int, exclude_true_label: bool, generator: torch.Generator):
        low = 1 if exclude_true_label else 0
        self.draws = torch.randint(low, num_classes, (num_samples,), generator=generator).tolist()
        self.num_classes = num_classes
        self.exclude_true_label = exclude_true_label

    def __call__(self, index: int, label):
        draw = self.draws[index]
        return (label + draw) % self.num_classes if self.exclude_true_label else draw


@METHODS.register_module()
class RandomLabel(UnlearningMethod):
    """Random Label (Golatkar et al., CVPR 2020, https://arxiv.org/abs/1911.04933; SPEC.md §3.1).

    Forget data only. Cross-entropy to a random label per forget sample, fixed for the run.

    Args:
        exclude_true_label: draw among the K-1 wrong classes (official ``--approx_different False``).
            Default False: uniform over all K classes, so a label may equal the true one (SPEC.md §2, §7.11).

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4).
    """

    requires = (Relabelling,)

    def __init__(self, exclude_true_label: bool = False):
        self.exclude_true_label = exclude_true_label

    def relabelled_forget(self, data: MethodData):
        """The forget data with its fixed random labels (drawn from the run's seed)."""
        labels = FixedRandomLabels(len(data.forget), data.task.num_classes, self.exclude_true_label,
                                   data.generator('random labels'))
        return data.task.relabel(data.forget, labels, data.request)

    def phases(self, data: MethodData) -> List[Phase]:
        return [Phase('forget', self.relabelled_forget(data))]

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        return dict(loss_ce=model.task.supervised_loss(model.student, batch))
