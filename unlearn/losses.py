"""The DELETE loss: distil the frozen teacher with the forgotten logits masked out of its softmax.

Also the two losses the baselines share (cross-entropy and distillation over valid positions), so every
method, DELETE included, averages per-pixel losses the same way.

Task-agnostic: it sees logits and boolean masks only. Classification passes ``[N, K]`` logits and erases
each sample's own label; segmentation passes ``[N, K, H, W]`` and erases the forget classes' channels at
every pixel; backdoor defense erases the attack's target on triggered inputs.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def _at_least_fp32(x: Tensor) -> Tensor:
    """Upcast half precision: exp/normalise in fp16 loses the small "dark knowledge" probabilities."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def masked_teacher_target(teacher_logits: Tensor,
                          erase_mask: Tensor,
                          *,
                          class_dim: int = 1,
                          alpha: float = 0.0,
                          temperature: float = 1.0) -> Tensor:
    """DELETE's target distribution ``softmax(Mask'_u(z / T))`` (paper Eq. 5, SPEC.md §1.1-1.2).

    Setting erased logits to ``-inf`` before the softmax equals masking the softmax and renormalising;
    ``-inf`` (not the official ``-1e10``) keeps the result exact in fp16/bf16, where ``-1e10`` overflows.

    ``alpha > 0`` is the Table-5 forgetting ablation as reconstructed in SPEC.md §1.9 (the official
    function is missing from the release): the erased classes keep ``alpha`` times their teacher
    probability and the other classes share the rest in the teacher's ratios. ``temperature`` divides the
    teacher logits only (SPEC.md §1.9: the student is *not* divided by T, which is what makes remain
    accuracy collapse at T=15 in Table 5).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    erase_mask = erase_mask.to(torch.bool).expand_as(teacher_logits)
    if erase_mask.all(dim=class_dim).any():
        raise ValueError(
            'delete_loss: some position has every class erased, so the masked teacher has no class left '
            'to put probability on. Keep at least one class unmasked per sample/pixel (are you forgetting '
            'every class, or passing an all-True erase_mask?).')
    z = _at_least_fp32(teacher_logits) / temperature
    kept = F.softmax(z.masked_fill(erase_mask, float('-inf')), dim=class_dim)
    if alpha == 0.0:
        return kept
    full = F.softmax(z, dim=class_dim)
    erased_mass = alpha * (full * erase_mask).sum(dim=class_dim, keepdim=True)
    return torch.where(erase_mask, alpha * full, (1.0 - erased_mass) * kept)


def delete_loss(student_logits: Tensor,
                teacher_logits: Tensor,
                erase_mask: Tensor,
                *,
                valid_mask: Optional[Tensor] = None,
                class_dim: int = 1,
                alpha: float = 0.0,
                temperature: float = 1.0) -> Tensor:
    """KL(masked teacher || student), summed over classes and averaged over valid positions.

    For ``[N, K]`` logits with no ``valid_mask`` this is exactly the official
    ``KLDivLoss(reduction='batchmean')(log_softmax(s), softmax(z with z[y] := -1e10))`` (SPEC.md §1.3).
    Its gradient w.r.t. the student logits is ``(q - p) / n_valid``, so every erased logit is pushed down
    by ``q_u`` and the others are pulled to the teacher's renormalised probabilities.

    Args:
        student_logits: ``[N, K, *spatial]`` logits of the model being unlearned.
        teacher_logits: same shape, from the frozen original model (no gradient flows into them).
        erase_mask: bool, broadcastable to the logits; True for each logit to erase.
        valid_mask: bool ``[N, *spatial]``; positions that count (segmentation's void pixels are False).
        class_dim: the class dimension of the logits.
        alpha: Table-5 forgetting ablation (0 = DELETE).
        temperature: Table-5 retention ablation (1 = DELETE).
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f'student logits {tuple(student_logits.shape)} and teacher logits '
                         f'{tuple(teacher_logits.shape)} must have the same shape')
    target = masked_teacher_target(
        teacher_logits.detach(), erase_mask, class_dim=class_dim, alpha=alpha, temperature=temperature)
    log_q = F.log_softmax(_at_least_fp32(student_logits), dim=class_dim)
    # xlogy gives 0 where p == 0 (erased classes), as KLDivLoss does; -inf * 0 never appears.
    per_position = (torch.xlogy(target, target) - target * log_q).sum(dim=class_dim)
    return mean_over_valid(per_position, valid_mask)


def mean_over_valid(per_position: Tensor, valid_mask: Optional[Tensor] = None) -> Tensor:
    """Average of a per-position loss ``[N, *spatial]`` over the valid positions (all if ``valid_mask`` is None)."""
    if valid_mask is None:
        return per_position.mean()
    valid_mask = valid_mask.to(torch.bool).expand_as(per_position)
    n_valid = valid_mask.sum()
    if n_valid == 0:
        # No valid position (e.g. a crop of only void pixels): contribute nothing but keep the graph.
        return (per_position * 0.0).sum()
    return per_position.masked_fill(~valid_mask, 0.0).sum() / n_valid


def cross_entropy(logits: Tensor, targets: Tensor, valid_mask: Optional[Tensor] = None) -> Tensor:
    """Cross-entropy of ``[N, K, *spatial]`` logits to class indices ``[N, *spatial]``, averaged over valid
    positions (for ``[N, K]`` exactly ``F.cross_entropy``). Invalid positions may hold any value (e.g. 255)."""
    if valid_mask is not None:
        targets = targets.masked_fill(~valid_mask.to(torch.bool).expand_as(targets), 0)
    return mean_over_valid(F.cross_entropy(_at_least_fp32(logits), targets, reduction='none'), valid_mask)


def distill_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0,
               valid_mask: Optional[Tensor] = None) -> Tensor:
    """Knowledge distillation ``KL(softmax(t / T) || softmax(s / T))``, summed over classes (dim 1) and
    averaged over valid positions: PyTorch's ``kl_div(..., reduction='batchmean')`` for ``[N, K]``.

    No ``T**2`` factor: Bad Teacher has none and SCRUB multiplies it in itself (SPEC.md §3.8, §3.11).
    """
    p = F.softmax(_at_least_fp32(teacher_logits.detach()) / temperature, dim=1)
    log_q = F.log_softmax(_at_least_fp32(student_logits) / temperature, dim=1)
    return mean_over_valid((torch.xlogy(p, p) - p * log_q).sum(dim=1), valid_mask)
