"""The one inference loop: a network over a dataset in eval mode, without gradients, reproducibly.

Every evaluation pass (metrics, unlearning curves, figures, feature plots) goes through :func:`predict`: eval
mode and then the previous mode back, inference mode and the run's precision (:mod:`unlearn.precision`), items
drawn under per-item seeds (:mod:`unlearn.evaluation`), progress.
"""
from typing import Any, Callable, List, Optional

import torch
from torch import nn
from torch.utils.data import Dataset

from .evaluation import seeded_loader
from .precision import current
from .progress import progress


def predict(network: nn.Module, dataset: Dataset, per_batch: Callable[[nn.Module, Any], Any], *, seed: int,
            batch_size: int, num_workers: int = 0, collate_fn: Optional[Callable] = None,
            desc: str = '', gradients: bool = False) -> List[Any]:
    """``[per_batch(network, batch) for each batch of dataset]``, in dataset order, ``network`` in eval mode.

    ``seed`` decides every random draw of the data pipeline (the same items for every model); ``desc`` names
    the pass in the progress output (empty: silent). Floating-point outputs come back as float32 whatever the
    run's precision. ``gradients``: ``per_batch`` enables gradients itself (Grad-CAM), so the pass runs under
    ``no_grad``, which it can leave, instead of inference mode, which it cannot."""
    precision = current()
    was_training = network.training
    precision.prepare(network).eval()
    outputs, done = [], 0
    loader_args = dict(batch_size=batch_size, num_workers=num_workers)
    if collate_fn is not None:
        loader_args['collate_fn'] = collate_fn
    try:
        with seeded_loader(dataset, seed, **loader_args) as loader, progress(desc, len(dataset)) as update, \
                (torch.no_grad() if gradients else torch.inference_mode()), precision.autocast():
            for batch in loader:
                outputs.append(as_float32(per_batch(network, batch)))
                count = min(batch_size, len(dataset) - done)
                done += count
                update(count)
    finally:
        network.train(was_training)
    return outputs


def as_float32(outputs: Any) -> Any:
    """``outputs`` (tensors, possibly nested in tuples, lists and dicts) with half-precision tensors as float32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.dtype in (torch.float16, torch.bfloat16) else outputs
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(as_float32(item) for item in outputs)
    if isinstance(outputs, dict):
        return {key: as_float32(value) for key, value in outputs.items()}
    return outputs


def device_of(network: nn.Module) -> torch.device:
    """Where ``network``'s weights are (its inputs go there)."""
    return next(network.parameters()).device
