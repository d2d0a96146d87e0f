"""SCRUB: alternate max steps away from the teacher on forget data and min steps toward it on remain data.

Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023, from the authors' code (it is not in
the DELETE repository; SPEC.md §3.11).
"""
from typing import Dict, List, Optional, Sequence

from torch import Tensor

from unlearn.losses import cross_entropy, distill_kl
from unlearn.registry import METHODS

from .base import MethodData, Phase, UnlearningMethod

MAX, MIN = 'max', 'min'


@METHODS.register_module()
class SCRUB(UnlearningMethod):
    """SCRUB (Kurmanji et al., NeurIPS 2023, https://arxiv.org/abs/2302.09880; SPEC.md §3.11).

    Forget and remaining data (a grey row). Every epoch: in the first ``msteps`` epochs a max step over the
    forget data, ``loss = -KL_T(student, teacher)``; then, every epoch, a min step over the remaining data,
    ``loss = gamma · CE(student, y) + alpha · KL_T(student, teacher)``, where
    ``KL_T = KL(softmax(t / T) || softmax(s / T)) · T²`` (batch mean) against the frozen original.

    Args:
        temperature: ``kd_T`` (4).
        gamma: weight of the remain cross-entropy (0.99).
        alpha: weight of the remain distillation (0.001).
        msteps: epochs with a max step (2).
        forget_batch_size, remain_batch_size: the two loaders' batch sizes (the authors': 512 and 256;
            None: the schedule's).
        augment: train on augmented images; the authors' loaders are built with ``augment=False``.

    Defaults are the authors' large-scale CIFAR-10 notebook; DELETE's values are UNVERIFIED. SCRUB's own
    optimiser (SGD lr 5e-4, momentum 0.9, weight decay 5e-4, lr x0.1 after epochs 3, 5, 9) and its 3 epochs
    are in ``configs/_base_/methods/scrub.py`` as ``method.schedule``, merged over the shared schedule.
    """
    needs_teacher = True
    uses_remain_data = True

    def __init__(self, temperature: float = 4.0, gamma: float = 0.99, alpha: float = 0.001, msteps: int = 2,
                 forget_batch_size: Optional[int] = None, remain_batch_size: Optional[int] = None,
                 augment: bool = True):
        if temperature <= 0 or msteps < 0:
            raise ValueError(f'SCRUB: need temperature > 0 and msteps >= 0, got {temperature}, {msteps}')
        for name, size in (('forget_batch_size', forget_batch_size), ('remain_batch_size', remain_batch_size)):
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                raise ValueError(f'SCRUB: {name} must be a positive integer or None, got {size!r}')
        self.temperature, self.gamma, self.alpha, self.msteps = temperature, gamma, alpha, msteps
        self.forget_batch_size, self.remain_batch_size, self.augment = forget_batch_size, remain_batch_size, augment

    def phases(self, data: MethodData) -> List[Phase]:
        forget, remain = (data.forget, data.remain) if self.augment else (data.forget_clean, data.remain_clean)
        return [Phase(MAX, forget, epochs=self.msteps, batch_size=self.forget_batch_size),
                Phase(MIN, remain, batch_size=self.remain_batch_size)]

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        student, valid = task.logits(model.student, batch), task.valid_mask(batch)
        kd = distill_kl(student, model.teacher_logits(batch), self.temperature, valid) * self.temperature ** 2
        if model.phase == MAX:
            return dict(loss_max_kd=-kd)
        return dict(loss_ce=self.gamma * cross_entropy(student, task.labels(batch), valid),
                    loss_kd=self.alpha * kd)
