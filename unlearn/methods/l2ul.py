"""Learn to Unlearn (L2UL): gradient ascent on the forget data, anchored by adversarial examples.

Cha et al., AAAI 2024 (SPEC.md §3.7): targeted L2 PGD examples of the frozen original model, toward random
classes, are learned with their target labels so the decision boundaries elsewhere stay in place; optionally
a MAS-style importance regulariser keeps important weights near the original.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from unlearn.capabilities import PixelImages
from unlearn.losses import cross_entropy
from unlearn.registry import METHODS

from .attacks import PixelSpace, l2_pgd_targeted
from .base import MethodData, UnlearningMethod
from .gradients import batch_gradients, trainable_parameters

ATTACK_SPACES = ('normalized', 'pixel')


@METHODS.register_module()
class L2UL(UnlearningMethod):
    """Learn to Unlearn (Cha et al., AAAI 2024, https://arxiv.org/abs/2301.11578; the official ``l2ul_adv`` /
    ``l2ul_imp``, SPEC.md §3.7).

    Forget data only; needs images in pixel space (a classification task). Per forget batch: random target
    labels (uniform, may equal the true one), targeted L2 PGD on the frozen original, then
    ``-CE(student(x), y) + adv_lambda · CE(student_eval(x_adv), target)``, the adversarial logits taken with
    the student in eval mode; ``reg_lambda > 0`` adds ``reg_lambda · Σ imp · (θ - θ0)² / 2`` (``l2ul_imp``).

    Args:
        adv_eps: L2 radius of the attack over a whole image (official ``--adv_eps`` 0.4).
        adv_lambda: weight of the adversarial term (official ``--adv_lambda`` 0.1).
        eps_iter: PGD step (official 0.1).
        nb_iter: PGD iterations (official 10).
        reg_lambda: importance regulariser weight (official ``--reg_lambda`` 0, which makes ``l2ul_imp``
            the same as ``l2ul_adv``; the paper's variant and value are UNVERIFIED).
        attack_space: ``'normalized'`` reproduces the DELETE port: the attack runs on normalised inputs and
            advertorch's default clip to [0, 1] is applied to them, clipping every negative normalised value
            (SPEC.md §7.8); ``'pixel'`` is the original L2UL's, whose model normalises inside, so the attack
            and its clip act on [0, 1] pixels (with ``adv_eps`` then a pixel-space radius).

    Optimiser, epochs and learning rate are the shared ``schedule`` (SPEC.md §1.4). Not ported: the original
    L2UL's pre-generated examples, sample-count weighting, early stop and weight decay (SPEC.md §3.7).
    """
    needs_teacher = True
    requires = (PixelImages,)

    def __init__(self, adv_eps: float = 0.4, adv_lambda: float = 0.1, eps_iter: float = 0.1, nb_iter: int = 10,
                 reg_lambda: float = 0.0, attack_space: str = 'normalized'):
        if attack_space not in ATTACK_SPACES:
            raise ValueError(f'L2UL: attack_space must be one of {ATTACK_SPACES}, got {attack_space!r}')
        if adv_eps <= 0 or eps_iter <= 0 or nb_iter < 1 or reg_lambda < 0:
            raise ValueError('L2UL: need adv_eps > 0, eps_iter > 0, nb_iter >= 1 and reg_lambda >= 0')
        self.adv_eps, self.adv_lambda, self.eps_iter, self.nb_iter = adv_eps, adv_lambda, eps_iter, nb_iter
        self.reg_lambda = reg_lambda
        self.attack_space = attack_space
        self.importance: Optional[Dict[str, Tensor]] = None

    def setup(self, model, data: MethodData) -> None:
        if self.reg_lambda > 0:
            self.importance = self.parameter_importance(model, data)

    @staticmethod
    def parameter_importance(model, data: MethodData) -> Dict[str, Tensor]:
        """MAS importance on the forget data with the original model in eval mode (SPEC.md §3.7): per batch
        ``|∂ mean_b ||f(x_b)||₂ / ∂θ| · batch size``, divided by ``batches x batch size`` as the official code
        does, min-max normalised per tensor, then ``1 - normalised``."""
        task, student = model.task, model.student
        named = trainable_parameters(student)
        totals = [torch.zeros_like(p) for _, p in named]
        n_batches = 0

        def loss_fn(batch):
            logits = task.logits(student, batch)
            return logits.norm(p=2, dim=1).mean(), logits.shape[0]

        for grads, n in batch_gradients([p for _, p in named], data.batches(model, data.forget,
                                                                             desc='L2UL: parameter importance'),
                                        loss_fn):
            for total, g in zip(totals, grads):
                total += g.abs() * n
            n_batches += 1
        importance = {}
        for (name, _), total in zip(named, totals):
            total = total / (n_batches * data.batch_size)
            low, high = total.min(), total.max()
            importance[name] = 1 - (total - low) / (high - low).clamp(min=1e-12)
        return importance

    def adversarial(self, model, batch, targets: Tensor) -> Tensor:
        """Targeted L2 PGD examples of the frozen original toward ``targets``, as normalised inputs."""
        task = model.task
        images = task.images(batch)

        def teacher(x: Tensor) -> Tensor:
            return task.logits(model.teacher, task.with_images(batch, x))

        kwargs = dict(eps=self.adv_eps, eps_iter=self.eps_iter, nb_iter=self.nb_iter)
        if self.attack_space == 'normalized':
            return l2_pgd_targeted(teacher, images, targets, **kwargs)
        space = PixelSpace(*task.pixel_normalization(), like=images)
        pixels = l2_pgd_targeted(lambda p: teacher(space.to_inputs(p)), space.to_pixels(images), targets, **kwargs)
        return space.to_inputs(pixels)

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        task = model.task
        labels = task.labels(batch)
        targets = torch.randint(0, task.num_classes, labels.shape, device=labels.device)
        adversarial = self.adversarial(model, batch, targets)
        logits = task.logits(model.student, batch)
        model.student.eval()  # the official code takes the adversarial logits in eval mode ("must be added")
        adversarial_logits = task.logits(model.student, task.with_images(batch, adversarial))
        model.train()
        losses = dict(loss_neg_ce=-cross_entropy(logits, labels, task.valid_mask(batch)),
                      loss_adv=self.adv_lambda * F.cross_entropy(adversarial_logits, targets))
        if self.importance is not None:
            original = dict(model.teacher.named_parameters())
            reg = sum((self.importance[name].to(p.device) * (p - original[name]).pow(2)).sum() / 2
                      for name, p in trainable_parameters(model.student))
            losses['loss_reg'] = self.reg_lambda * reg
        return losses
