"""Bad Teacher: distil a randomly initialised teacher on the forget data (and the original on some remain data).

Chundawat et al., "Can Bad Teaching Induce Forgetting?", AAAI 2023 (SPEC.md §3.8).
"""
from typing import Dict, List, Sequence

import torch
from torch import Tensor
from torch.utils.data import ConcatDataset, Subset

from unlearn.losses import distill_kl
from unlearn.registry import METHODS

from .base import MethodData, Phase, UnlearningMethod


@METHODS.register_module()
class BadTeacher(UnlearningMethod):
    """Bad Teacher (Chundawat et al., AAAI 2023, https://arxiv.org/abs/2205.08096; SPEC.md §3.8).

    The student (the original) distils ``KL(softmax(t / T) || softmax(s / T))`` (batch mean, no T²) where the
    teacher ``t`` is a freshly initialised network of the same architecture on forget samples and the frozen
    original on remaining ones. Which is which the forget request says (``is_forget``: by default the samples
    of the forget classes, per pixel on dense tasks).

    Args:
        retain_fraction: share of the remaining training data, drawn once, mixed into the unlearning set
            with the good teacher (official ``--retain_data True`` = 0.3, a grey row). Default 0: forget data
            only, which distils the forget data toward a random network (the paper's non-grey row).
        temperature: T (official ``KL_temperature`` 1).

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4; the original used Adam).
    """
    needs_teacher = True

    def __init__(self, retain_fraction: float = 0.0, temperature: float = 1.0):
        if not 0.0 <= retain_fraction <= 1.0:
            raise ValueError(f'BadTeacher: retain_fraction must be in [0, 1], got {retain_fraction}')
        if temperature <= 0:
            raise ValueError(f'BadTeacher: temperature must be > 0, got {temperature}')
        self.retain_fraction = retain_fraction
        self.temperature = temperature
        self.uses_remain_data = retain_fraction > 0

    def phases(self, data: MethodData) -> List[Phase]:
        if not self.uses_remain_data:
            return [Phase('forget', data.forget)]
        n = len(data.remain)
        sample = torch.randperm(n, generator=data.generator('bad teacher retain sample'))
        retained = Subset(data.remain, sample[:int(self.retain_fraction * n)].tolist())
        return [Phase('forget+retain', ConcatDataset([data.forget, retained]))]

    def setup(self, model, data: MethodData) -> None:
        model.add_frozen('bad_teacher', data.new_network())

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        forget = model.request.is_forget(batch)
        with torch.no_grad():
            teacher = task.logits(model.frozen['bad_teacher'], batch) if forget.any() else None
            if not forget.all():
                good = model.teacher_logits(batch)
                teacher = good if teacher is None else torch.where(forget.unsqueeze(1), teacher, good)
        student = task.logits(model.student, batch)
        return dict(loss_kd=distill_kl(student, teacher, self.temperature, task.valid_mask(batch)))
