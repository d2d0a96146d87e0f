"""Gradient passes outside the training loop that several baselines share.

SalUn's saliency mask, L2UL's parameter importance, Influence Unlearning's forget / remain gradients and
Fisher Forgetting's diagonal Hessian all walk a dataset once and combine per-batch gradients, each its own
way; this module gives them the per-batch gradients and the parameter bookkeeping.
"""
from typing import Callable, Iterable, Iterator, List, Tuple

import torch
from torch import Tensor, nn


def trainable_parameters(network: nn.Module) -> List[Tuple[str, nn.Parameter]]:
    """``(name, parameter)`` of every parameter that trains (frozen ones, e.g. a frozen ``fc``, are left out)."""
    return [(name, p) for name, p in network.named_parameters() if p.requires_grad]


def gradients(loss: Tensor, params: List[nn.Parameter], retain_graph: bool = False) -> List[Tensor]:
    """``d loss / d params``, with zeros for parameters the loss does not reach (e.g. an unused head)."""
    grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def batch_gradients(params: List[nn.Parameter], batches: Iterable,
                    loss_fn: Callable[[object], Tuple[Tensor, int]]) -> Iterator[Tuple[List[Tensor], int]]:
    """For each batch, the gradient of ``loss_fn(batch)[0]`` w.r.t. ``params`` and the batch's sample count
    (``loss_fn(batch)[1]``); the network's mode is the caller's (the official passes run in eval mode)."""
    for batch in batches:
        with torch.enable_grad():
            loss, n = loss_fn(batch)
            yield gradients(loss, params), n


def flatten(tensors: List[Tensor]) -> Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


@torch.no_grad()
def add_flat_(params: List[nn.Parameter], flat: Tensor) -> None:
    """``params += flat``, where ``flat`` is the concatenation of one update per parameter (in order)."""
    offset = 0
    for p in params:
        p.add_(flat[offset:offset + p.numel()].view_as(p))
        offset += p.numel()
