"""mmengine models: the unlearning wrapper (student + frozen teacher + method) and plain supervision.

mmengine's stock Runner and loops drive both; ``forward(mode='loss')`` is where the work happens, so
the same code runs under ``MMDistributedDataParallel`` (which calls forward, not ``train_step``).
"""
import copy
from typing import Optional

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from .inference import as_float32
from .precision import current


def _as_batch(args: tuple, kwargs: dict):
    """Undo mmengine's unpacking: tuple batches arrive as ``*args``, dict batches as ``**kwargs``."""
    return kwargs if kwargs else args


class UnlearnModel(BaseModel):
    """Owns the student being unlearned and, if the method needs one, a frozen copy of the original.

    The teacher is kept in eval mode with ``requires_grad=False`` and is never saved: only
    ``model.student.state_dict()`` is written out.

    Args:
        student: the network to unlearn (starts as the original model's weights).
        task: the task adapter (logits, labels, masks for a batch).
        method: the unlearning method.
        request: what is forgotten (:class:`unlearn.request.ForgetRequest`).
        disable_bn: keep every BatchNorm of the student in eval mode while training (SPEC.md §1.5).
    """

    def __init__(self, student: nn.Module, task, method, request, disable_bn: bool = False):
        super().__init__(data_preprocessor=task.data_preprocessor(student))
        self.student = student
        self.task = task
        self.method = method
        self.request = request
        self.disable_bn = disable_bn
        self.teacher: Optional[nn.Module] = None
        if method.needs_teacher:
            self.teacher = copy.deepcopy(student).eval().requires_grad_(False)
        #: Other frozen networks a method keeps beside the student (e.g. Bad Teacher's random teacher).
        self.frozen = nn.ModuleDict()
        #: The pass being trained, set by the loop for methods with several passes an epoch (SCRUB, SalUn).
        self.phase = 'forget'
        #: Whether that pass keeps the student's BatchNorm in eval mode (:attr:`Phase.frozen_bn`), set with it.
        self.phase_frozen_bn = False

    def enter_phase(self, phase) -> None:
        """Train ``phase`` (:class:`unlearn.methods.base.Phase`) next: its name for the method's ``loss``, and its
        batch-norm mode applied at once if training."""
        self.phase, self.phase_frozen_bn = phase.name, phase.frozen_bn
        if self.training:
            self.train()

    def add_frozen(self, name: str, network: nn.Module) -> nn.Module:
        """Keep ``network`` frozen beside the student: on its device, in eval mode, never trained or saved."""
        device = next(self.student.parameters()).device
        self.frozen[name] = network.to(device).eval().requires_grad_(False)
        return self.frozen[name]

    def train(self, mode: bool = True) -> 'UnlearnModel':
        super().train(mode)
        for frozen in (self.teacher, *self.frozen.values()):
            if frozen is not None:
                frozen.eval()
        if mode and (self.disable_bn or self.phase_frozen_bn):
            for module in self.student.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def teacher_logits(self, batch) -> Tensor:
        """The frozen teacher's logits, computed in inference mode under the step's autocast; returned as an
        ordinary tensor (a copy), which the loss may keep for its backward pass."""
        with torch.inference_mode():
            logits = self.task.logits(self.teacher, batch)
        return logits.clone()

    def forward(self, *args, mode: str = 'tensor', **kwargs):
        batch = _as_batch(args, kwargs)
        if mode == 'loss':
            return self.method.loss(self, batch)
        return self.task.logits(self.student, batch)


class SupervisedModel(BaseModel):
    """Standard supervised training of a task's network (the original model and the retrain oracle); the
    evaluator's predictions pick the best epoch."""

    def __init__(self, network: nn.Module, task, evaluator):
        super().__init__(data_preprocessor=task.data_preprocessor(network))
        self.network = network
        self.task = task
        self.evaluator = evaluator

    def forward(self, *args, mode: str = 'tensor', **kwargs):
        batch = _as_batch(args, kwargs)
        if mode == 'loss':
            return dict(loss_ce=self.task.supervised_loss(self.network, batch))
        if mode == 'predict':  # validation, to pick the best epoch: in the run's precision, as every evaluation
            with current().autocast():
                return as_float32(self.evaluator.predict_for_metric(self.network, batch))
        return self.task.logits(self.network, batch)
