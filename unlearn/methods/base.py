"""What every unlearning method shares: the data it may read, the teacher it needs, its training step.

A method is registered in :data:`unlearn.registry.METHODS` and built from ``method = dict(type=...)``.
It never opens a batch itself: it asks the task adapter for logits, labels and erase masks, so the
same method runs on classification logits, face-ID logits and segmentation maps.

A run calls, in order (see :func:`unlearn.driver.run_method`):

1. before anything is trained, the core refuses a task lacking a capability the method ``requires``
   (:mod:`unlearn.capabilities`), then ``check(task, network)``: a method that cannot apply says so in one line;
2. ``phases(data)``: what each training epoch iterates (default: one pass over the forget data);
3. ``setup(model, data)``: e.g. a saliency mask, a widened classifier, a second frozen network;
4. the training loop over the phases with ``loss(model, batch)`` and the method's ``hooks()`` — or, for
   one-shot weight edits (``trains = False``), ``edit(model, data)`` instead;
5. ``finalize(model)``: e.g. pruning Boundary Expand's extra class.
"""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger
from mmengine.registry import FUNCTIONS
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from unlearn.errors import UnlearnError
from unlearn.progress import progress
from unlearn.request import ForgetRequest

if TYPE_CHECKING:  # pragma: no cover
    from unlearn.model import UnlearnModel


@dataclass
class Phase:
    """One pass of every training epoch over a dataset.

    Attributes:
        name: what the method's ``loss`` reads in ``model.phase`` to know which step it is taking.
        dataset: the data of the pass (with the training transform).
        epochs: run the pass only in the first ``epochs`` epochs (SCRUB's max steps); None: in every epoch.
        batch_size: the pass's batch size (SCRUB's authors use 512 on forget, 256 on remain data); None: the
            schedule's.
        frozen_bn: run the pass with every BatchNorm of the student in eval mode: it trains the weights but
            neither normalises with nor updates the batch statistics, which stay those of the other passes.
    """
    name: str
    dataset: Dataset
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    frozen_bn: bool = False


class MethodData:
    """The data a method may read, and the one way to iterate it: the task's own dataloaders.

    :meth:`for_method` builds it from the forget request: ``remain`` is given only to methods whose
    ``uses_remain_data`` is True, so a forget-only method cannot read remaining data even by mistake.

    Args:
        task: the task adapter.
        forget: the forget training data (training transform).
        remain: the remaining training data, or None for forget-only methods.
        forget_clean, remain_clean: the same images without augmentation (None: the task has none).
        request: the forget request they come from (what relabelling replaces, ...).
        batch_size: the schedule's batch size.
        seed: the run's seed (fixed random draws of a method derive from it).
        new_network: builds a freshly initialised network of the model's architecture (Bad Teacher).
        logger: where a method reports (the run's log); None: mmengine's current logger.
    """

    def __init__(self, task, forget: Dataset, remain: Optional[Dataset], batch_size: int, seed: int,
                 new_network: Optional[Callable[[], nn.Module]] = None, logger: Optional[MMLogger] = None,
                 forget_clean: Optional[Dataset] = None, remain_clean: Optional[Dataset] = None,
                 request: Optional[ForgetRequest] = None):
        self.task = task
        self.request = request
        self.forget = forget
        self._remain = remain
        self._forget_clean, self._remain_clean = forget_clean, remain_clean
        self.batch_size = batch_size
        self.seed = seed
        self._new_network = new_network
        self.logger = logger

    @classmethod
    def for_method(cls, method: 'UnlearningMethod', task, request: ForgetRequest, batch_size: int, seed: int,
                   new_network: Optional[Callable[[], nn.Module]] = None) -> 'MethodData':
        """What ``method`` may read of ``request``: the remaining data only if it declares ``uses_remain_data``."""
        remain = method.uses_remain_data
        if remain and request.train_remain is None:
            raise UnlearnError(f'{type(method).__name__} reads remaining training data, and this forget request '
                               'has none: choose a forget-only method')
        return cls(task, request.train_forget, request.train_remain if remain else None, batch_size=batch_size,
                   seed=seed, new_network=new_network, forget_clean=request.train_forget_clean,
                   remain_clean=request.train_remain_clean if remain else None, request=request)

    @property
    def remain(self) -> Dataset:
        self._require_remain()
        return self._remain

    def _require_remain(self) -> None:
        if self._remain is None:
            raise RuntimeError('a forget-only method (uses_remain_data = False) is given no remaining data')

    @property
    def forget_clean(self) -> Dataset:
        return self._clean(self._forget_clean)

    @property
    def remain_clean(self) -> Dataset:
        self._require_remain()
        return self._clean(self._remain_clean)

    def _clean(self, dataset: Optional[Dataset]) -> Dataset:
        if dataset is None:
            raise UnlearnError(f'the {type(self.task).__name__} task has no training images without augmentation; '
                               'set the method\'s augment=True')
        return dataset

    def new_network(self) -> nn.Module:
        if self._new_network is None:
            raise RuntimeError('this MethodData was built without a network builder')
        return self._new_network()

    def log(self, message: str) -> None:
        (self.logger or MMLogger.get_current_instance()).info(message)

    def generator(self, purpose: str) -> torch.Generator:
        """A CPU generator seeded by the run's seed and ``purpose``: each fixed random draw is reproducible
        and independent of what else consumed random numbers before it."""
        return torch.Generator().manual_seed(self.seed + sum(map(ord, purpose)))

    def batches(self, model: 'UnlearnModel', dataset: Dataset, batch_size: Optional[int] = None,
                shuffle: bool = False, desc: str = '') -> Iterator:
        """Batches of ``dataset`` on the model's device, for passes outside the training loop (a saliency
        mask, a Fisher estimate, an influence step). Every rank reads the whole dataset, so a distributed
        run computes the same edit everywhere. Progress is shown when ``desc`` is given (:mod:`unlearn.progress`)."""
        cfg = self.task.dataloader(dataset, batch_size or self.batch_size, shuffle)  # workers, collation
        loader = DataLoader(dataset, batch_size=cfg['batch_size'], shuffle=shuffle,
                            num_workers=cfg.get('num_workers', 0), collate_fn=_collate_fn(cfg),
                            generator=self.generator(desc or 'batches'))
        if desc:
            self.log(f'{desc}: {len(dataset)} samples')
        with progress(desc, len(loader), unit='batches') as update:
            for batch in loader:
                yield model.data_preprocessor(batch, False)
                update(1)


def _collate_fn(loader_cfg: dict) -> Callable:
    """The loader config's collate function, named in mmengine's ``FUNCTIONS`` or given itself (as the Runner
    accepts it)."""
    kind = dict(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))['type']
    return FUNCTIONS.get(kind) if isinstance(kind, str) else kind


class UnlearningMethod:
    """Base class. Subclasses set the class attributes and implement :meth:`loss` (or :meth:`edit`).

    Class attributes (a subclass may set them per instance, e.g. from a ``use_remain_data`` option):
        requires: the capabilities (:mod:`unlearn.capabilities`) a task must have for this method.
        uses_remain_data: reads the remaining training data (the paper's grey rows; tables mark it "(R)").
            Forget-only methods are given no remaining data at all, so they cannot read it by accident.
        needs_teacher: the wrapper keeps a frozen copy of the original model as ``model.teacher``.
        trains: False for one-shot weight edits, which skip the training loop.
        applies_disable_bn: ``schedule.disable_bn`` holds for this method (SPEC.md §1.5: not for Finetune).
    """
    requires: tuple = ()
    uses_remain_data: bool = False
    needs_teacher: bool = False
    trains: bool = True
    applies_disable_bn: bool = True

    def check(self, task, network: nn.Module) -> None:
        """Raise :class:`UnlearnError` if the method cannot apply to this task or network (before training)."""

    def phases(self, data: MethodData) -> List[Phase]:
        """What each training epoch iterates, in order. Called before any training, so data a task
        cannot provide (e.g. relabelled samples) fails early."""
        return [Phase('forget', data.forget)]

    def setup(self, model: 'UnlearnModel', data: MethodData) -> None:
        """Called once before training or editing (e.g. a saliency mask, a widened classifier)."""

    def loss(self, model: 'UnlearnModel', batch: Sequence) -> Dict[str, Tensor]:
        """One training step's losses on a batch of ``model.phase``; summed by mmengine's ``parse_losses``."""
        raise NotImplementedError(f'{type(self).__name__} does not define a training loss')

    def hooks(self) -> list:
        """mmengine hooks the training loop needs (e.g. SalUn's guard of its frozen weights)."""
        return []

    def edit(self, model: 'UnlearnModel', data: MethodData) -> None:
        """The one-shot weight edit of a method that does not train (``trains = False``)."""
        raise NotImplementedError(f'{type(self).__name__} does not define a weight edit')

    def finalize(self, model: 'UnlearnModel') -> None:
        """Called once after training (e.g. prune Boundary Expand's extra class)."""

    @property
    def table_name(self) -> str:
        """The method's row in tables: "(R)" marks methods that read remaining data (the paper's grey rows)."""
        return type(self).__name__ + (' (R)' if self.uses_remain_data else '')

    def describe(self) -> str:
        data = 'forget + remain data' if self.uses_remain_data else 'forget data only'
        return f'{type(self).__name__} ({data})'
