"""DELETE: Decoupled Distillation to Erase (Zhou et al., CVPR 2025, arXiv 2503.23751).

Distil the frozen original model into the student on forget data only, with the forgotten class's logit
masked out of the teacher's softmax: the target puts no mass on the forgotten class (forgetting) and keeps
the teacher's ratios between the others (retention of "dark knowledge").
"""
from typing import Dict, List, Sequence

import torch
from torch import Tensor

from unlearn.losses import delete_loss
from unlearn.registry import METHODS

from .base import MethodData, Phase, UnlearningMethod


@METHODS.register_module()
class DELETE(UnlearningMethod):
    """Args:
        alpha: Table-5 forgetting ablation; the target keeps ``alpha * p_u`` (SPEC.md §1.9). 0 = DELETE.
        temperature: Table-5 retention ablation; teacher logits divided by T (SPEC.md §1.9). 1 = DELETE.
        mask_all_forget_classes: erase every forget class for every sample instead of only the sample's
            own label. The official code masks the own label only (SPEC.md §1.8), which is the default.
        remain_weight: not in the paper. > 0 makes it "DELETE (R)": every epoch also passes over the remaining
            data, distilling the teacher with nothing erased, weighted by this. Where the forget set holds no
            image of a class that must be kept (backdoor defense: the target class's clean images), forget-only
            distillation lowers that class everywhere; this pass anchors it.
        remain_frozen_bn: the remaining-data pass runs the student's BatchNorm in eval mode, so the statistics
            stay those of the forget data. On a stamped backdoor forget set those statistics carry part of the
            erasure, and a pass that re-estimates them on clean images restores the backdoor (docs/results.md).

    The optimiser, epochs and learning rate come from the config's ``schedule`` (official: SGD, momentum
    0.9, no weight decay, 20 epochs; lr 1e-4 on CIFAR-10, 5e-5 elsewhere; SPEC.md §1.4).
    """
    needs_teacher = True

    def __init__(self, alpha: float = 0.0, temperature: float = 1.0, mask_all_forget_classes: bool = False,
                 remain_weight: float = 0.0, remain_frozen_bn: bool = False):
        if remain_weight < 0:
            raise ValueError(f'DELETE: remain_weight must be >= 0, got {remain_weight}')
        if remain_frozen_bn and not remain_weight:
            raise ValueError('DELETE: remain_frozen_bn applies to the remaining-data pass: set remain_weight > 0')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'DELETE: alpha must be in [0, 1], got {alpha}')
        if temperature <= 0:
            raise ValueError(f'DELETE: temperature must be > 0, got {temperature}')
        self.alpha = alpha
        self.temperature = temperature
        self.mask_all_forget_classes = mask_all_forget_classes
        self.remain_weight = remain_weight
        self.remain_frozen_bn = remain_frozen_bn
        self.uses_remain_data = remain_weight > 0

    def phases(self, data: MethodData) -> List[Phase]:
        remain = [Phase('remain', data.remain, frozen_bn=self.remain_frozen_bn)] if self.uses_remain_data else []
        return [Phase('forget', data.forget)] + remain

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        teacher_logits = model.teacher_logits(batch)
        student_logits = task.logits(model.student, batch)
        if model.phase == 'remain':
            keep_all = torch.zeros_like(teacher_logits, dtype=torch.bool)
            loss = delete_loss(student_logits, teacher_logits, keep_all, valid_mask=task.valid_mask(batch),
                               temperature=self.temperature)
            return dict(loss_remain=self.remain_weight * loss)
        erase = task.erase_mask(batch, model.request, all_forget_classes=self.mask_all_forget_classes)
        loss = delete_loss(student_logits, teacher_logits, erase, valid_mask=task.valid_mask(batch),
                           alpha=self.alpha, temperature=self.temperature)
        return dict(loss_delete=loss)
