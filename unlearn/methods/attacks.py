"""The adversarial attacks of Boundary Shrink (FGSM) and L2UL (L2 PGD), reimplemented without advertorch.

Both attack the frozen original model. Boundary Shrink bounds its step in [0, 1] pixel space, so it needs
the dataset's own per-channel normalisation (the official port always used CIFAR-10's, SPEC.md §7.7).
"""
from typing import Callable, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from unlearn.losses import cross_entropy

Forward = Callable[[Tensor], Tensor]


class PixelSpace:
    """Normalised network inputs <-> [0, 1] pixels, with a dataset's per-channel mean and std."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], like: Tensor):
        shape = (1, -1) + (1,) * (like.dim() - 2)
        self.mean = torch.as_tensor(mean, dtype=like.dtype, device=like.device).view(shape)
        self.std = torch.as_tensor(std, dtype=like.dtype, device=like.device).view(shape)

    def to_pixels(self, inputs: Tensor) -> Tensor:
        return inputs * self.std + self.mean

    def to_inputs(self, pixels: Tensor) -> Tensor:
        return (pixels - self.mean) / self.std


def fgsm(forward: Forward, inputs: Tensor, labels: Tensor, eps: float, space: PixelSpace) -> Tensor:
    """Boundary Shrink's attack (SPEC.md §3.4): one untargeted FGSM step of ``eps`` in [0, 1] pixel space
    from the clean image (no random start), clipped to [0, 1] and rounded to 8-bit levels.

    Takes and returns normalised inputs; ``forward`` maps them to logits (the frozen original model).
    """
    x = inputs.detach().requires_grad_(True)
    with torch.enable_grad():
        grad, = torch.autograd.grad(cross_entropy(forward(x), labels), x)
    pixels = space.to_pixels(inputs.detach()) + eps * grad.sign()
    return space.to_inputs(torch.round(pixels.clamp(0.0, 1.0) * 255) / 255)


def _l2_norms(x: Tensor) -> Tensor:
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


def _clamp_l2(delta: Tensor, eps: float) -> Tensor:
    """Scale each sample's perturbation into the L2 ball of radius ``eps`` (advertorch ``clamp_by_pnorm``)."""
    return delta * torch.clamp(eps / _l2_norms(delta), max=1.0)


def l2_pgd_targeted(forward: Forward, x: Tensor, targets: Tensor, eps: float, eps_iter: float, nb_iter: int,
                    clip: Tuple[float, float] = (0.0, 1.0), rand_init: bool = True) -> Tensor:
    """advertorch's ``L2PGDAttack(targeted=True)`` with its defaults (SPEC.md §3.7): summed cross-entropy,
    values clipped to ``clip``; a random start drawn uniformly in the clip range and pulled into the
    ``eps`` ball, then ``nb_iter`` steps of ``eps_iter`` along the L2-normalised gradient toward ``targets``.
    """
    lo, hi = clip
    x = x.detach()
    delta = torch.zeros_like(x)
    if rand_init:
        delta = _clamp_l2(delta.uniform_(lo, hi) - x, eps)
        delta = (x + delta).clamp(lo, hi) - x
    for _ in range(nb_iter):
        delta.requires_grad_(True)
        with torch.enable_grad():
            loss = -F.cross_entropy(forward(x + delta), targets, reduction='sum')
            grad, = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = delta + eps_iter * grad / _l2_norms(grad).clamp(min=1e-6)
            delta = _clamp_l2((x + delta).clamp(lo, hi) - x, eps)
    return (x + delta).clamp(lo, hi).detach()
