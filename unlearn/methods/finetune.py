"""Finetune: keep training on the remaining data only, so the forget classes fade (SPEC.md §3.3)."""
from typing import Dict, List, Sequence

from torch import Tensor

from unlearn.registry import METHODS

from .base import MethodData, Phase, UnlearningMethod


@METHODS.register_module()
class Finetune(UnlearningMethod):
    """Finetune (Golatkar et al., CVPR 2020, https://arxiv.org/abs/1911.04933; SPEC.md §3.3).

    Remaining data only (a grey row). Cross-entropy on the true labels over the whole remaining training
    set each epoch, with the shared ``schedule`` (SPEC.md §1.4). As in the official code, ``disable_bn``
    does not apply to it (SPEC.md §1.5). It has no hyper-parameters of its own.
    """
    uses_remain_data = True
    applies_disable_bn = False

    def phases(self, data: MethodData) -> List[Phase]:
        return [Phase('remain', data.remain)]

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        return dict(loss_ce=model.task.supervised_loss(model.student, batch))
