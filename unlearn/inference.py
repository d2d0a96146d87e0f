"""The one inference loop: a network over a dataset in eval mode, without gradients, reproducibly.

Every evaluation pass (metrics, unlearning curves, figures, feature plots) goes through :func:`predict`: eval
mode and then the previous mode back, items drawn under per-item seeds (:mod:`unlearn.evaluation`), progress.
"""
from typing import Any, Callable, List, Optional

import torch
from torch import nn
from torch.utils.data import Dataset

from .evaluation import seeded_loader
from .progress import progress


@torch.no_grad()
def predict(network: nn.Module, dataset: Dataset, per_batch: Callable[[nn.Module, Any], Any], *, seed: int,
            batch_size: int, num_workers: int = 0, collate_fn: Optional[Callable] = None,
            desc: str = '') -> List[Any]:
    """``[per_batch(network, batch) for each batch of dataset]``, in dataset order, ``network`` in eval mode.

    ``seed`` decides every random draw of the data pipeline (the same items for every model); ``desc`` names
    the pass in the progress output (empty: silent)."""
    was_training = network.training
    network.eval()
    outputs, done = [], 0
    loader_args = dict(batch_size=batch_size, num_workers=num_workers)
    if collate_fn is not None:
        loader_args['collate_fn'] = collate_fn
    try:
        with seeded_loader(dataset, seed, **loader_args) as loader, progress(desc, len(dataset)) as update:
            for batch in loader:
                outputs.append(per_batch(network, batch))
                count = min(batch_size, len(dataset) - done)
                done += count
                update(count)
    finally:
        network.train(was_training)
    return outputs


def device_of(network: nn.Module) -> torch.device:
    """Where ``network``'s weights are (its inputs go there)."""
    return next(network.parameters()).device
