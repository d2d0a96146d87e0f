"""Evaluation passes that give the same numbers in any process, in any order, with any number of workers.

Acc_f, Acc_r and the MIA are measured on augmented training images (the official protocol), so a pass draws
random numbers. Drawn from the global generators, they would depend on whatever the process did before
(training, other evaluations, a metrics cache hit or miss). Here every item is drawn under its own seed,
derived from the pass's seed and the item's index, so an item gets the same augmentation whether it is
loaded in the main process or in any worker, in any batch; the global generators are saved and restored
around the pass, so evaluating changes nothing else either.

A task's evaluator derives a pass's seed from its evaluation settings, the data and the split
(:func:`derive_seed`), never from the weights: every model of a table (original, oracle, unlearned) is scored
on the very same augmented images, a paired comparison with less noise, and the same checkpoint always gets the
same metrics.
"""
import hashlib
import json
import random
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed (numpy's limit) from JSON-able ``parts``: equal parts, equal seed, in any process."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], 'little')


def _seed_all(seed: int) -> None:
    """Seed what data pipelines draw from: torch's CPU generator (torchvision), numpy (mmcv/mmseg), ``random``."""
    torch.default_generator.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@contextmanager
def seeded_rng(seed: int) -> Iterator[None]:
    """Run the block with the global generators seeded by ``seed``, then put back their previous states.

    CUDA generators are saved, seeded and restored only if CUDA is already initialised: a CPU-only
    evaluation neither starts CUDA nor leaves a queued seed behind for when it starts.
    """
    cuda = torch.cuda.is_initialized()
    saved = torch.get_rng_state(), np.random.get_state(), random.getstate()
    saved_cuda = torch.cuda.get_rng_state_all() if cuda else None
    _seed_all(seed)
    if cuda:
        torch.cuda.manual_seed_all(seed)
    try:
        yield
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])
        if cuda:
            torch.cuda.set_rng_state_all(saved_cuda)


class SeededItems(Dataset):
    """``dataset`` whose item ``i`` is loaded under the seed ``derive_seed(seed, i)``.

    It reseeds the generators of the process that loads the item: use it inside :func:`seeded_rng` (as
    :func:`seeded_loader` does), or in DataLoader workers, whose generators are their own.
    """

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        _seed_all(derive_seed(self.seed, index))
        return self.dataset[index]


@contextmanager
def seeded_loader(dataset: Dataset, seed: int, **loader_args) -> Iterator[DataLoader]:
    """An unshuffled DataLoader over ``dataset`` whose items are drawn under per-item seeds, iterated with the
    global generators seeded and restored afterwards (see the module's docstring).

    No seeded ``generator`` or ``worker_init_fn`` is needed: a worker's own seeds only decide what the items'
    seeds overwrite, so ``num_workers > 0`` gives exactly the numbers of ``num_workers = 0``.
    """
    with seeded_rng(seed):
        yield DataLoader(SeededItems(dataset, seed), shuffle=False, **loader_args)
