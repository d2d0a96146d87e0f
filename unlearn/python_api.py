"""The Python API: unlearn classes from your own PyTorch classifier, given a DataLoader of what to forget.

    from unlearn import unlearn
    unlearned = unlearn(model, forget_loader, forget_classes=[3], method='DELETE', epochs=20, lr=1e-4)

No config and no reference models: the given model is the original, and nothing is evaluated. The method runs
on the same code as the command line: built from :data:`unlearn.registry.METHODS`, checked against the task
(:func:`unlearn.capabilities.check_capabilities`), given its data by :meth:`MethodData.for_method` and trained by
:func:`unlearn.driver.run_method` on the stock mmengine Runner. The task is :class:`unlearn.tensor_task.TensorTask`:
batches ``(inputs, labels, ...)`` and ``model(inputs)`` -> ``[N, K]`` logits.
"""
import copy
import tempfile
from contextlib import contextmanager
from numbers import Real
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.device import get_device
from mmengine.model import BaseDataPreprocessor
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset

from . import driver  # called as driver.run_method: the one driver the CLI runs, never a copy
from .capabilities import PixelImages, check_capabilities
from .config import build_from
from .config_check import check_output_folder
from .errors import UnlearnError
from .methods.base import MethodData, UnlearningMethod
from .model import UnlearnModel
from .precision import applied, resolve as resolve_precision
from .registry import METHODS
from .request import ClassSpec, ForgetRequest, ReferenceData, resolve_classes
from .tensor_task import TensorImages, TensorTask, labels_in

Normalization = Tuple[Sequence[float], Sequence[float]]


class TensorBatches(TensorTask):
    """The tensor task with the user's loader settings: every pass (training phases, a method's setup and edit
    passes) reads its data with the forget loader's workers and ``collate_fn`` (the Runner and
    :meth:`MethodData.batches` both take the function itself as a collate config's ``type``)."""

    def __init__(self, class_names: Sequence[str], num_workers: int, collate: Callable):
        super().__init__(class_names, num_workers=num_workers)
        self.collate = collate

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        return dict(super().dataloader(dataset, batch_size, shuffle), collate_fn=dict(type=self.collate))


class PixelBatches(TensorBatches, TensorImages):
    """Inputs that are normalised images, with their ``(mean, std)``: enables the pixel-space attacks of Boundary
    Shrink and L2UL."""

    def __init__(self, class_names: Sequence[str], num_workers: int, collate: Callable,
                 normalization: Normalization):
        super().__init__(class_names, num_workers, collate)
        self.normalization = normalization

    def pixel_normalization(self) -> Normalization:
        return self.normalization


def unlearn(model: nn.Module, forget_loader: DataLoader, forget_classes: Union[ClassSpec, Sequence[ClassSpec]],
            method: str = 'DELETE', *, epochs: int = 20, lr: float = 1e-4, momentum: float = 0.9,
            weight_decay: float = 0.0, remain_loader: Optional[DataLoader] = None,
            class_names: Optional[Sequence[str]] = None, pixel_normalization: Optional[Normalization] = None,
            seed: int = 2022, work_dir: Optional[Union[str, Path]] = None, precision: str = 'fp32',
            channels_last: bool = False, **method_args) -> nn.Module:
    """A copy of ``model`` with ``forget_classes`` unlearned by ``method``; ``model`` itself is left untouched.

    Args:
        model: a classifier, ``model(inputs)`` -> ``[N, K]`` logits; K is read from the width of its logits
            on the first forget batch (any architecture, no classifier layer to find).
        forget_loader: batches ``(inputs, labels, ...)`` of the samples to forget (int64 labels). Its dataset,
            ``batch_size``, ``num_workers`` and ``collate_fn`` are used; it is reshuffled with ``seed`` each epoch.
        forget_classes: class indices (or names, with ``class_names``) to forget.
        method: a registered method (``DELETE``, ``RandomLabel``, ``SCRUB``, ...); ``method_args`` are its
            constructor's arguments, e.g. ``unlearn(..., method='DELETE', temperature=2.0)``.
        epochs, lr, momentum, weight_decay: the SGD schedule; the defaults are the official DELETE one.
        remain_loader: data to keep, for the methods that read it (Finetune, SCRUB, ...; read with the forget
            loader's settings); forget-only methods, DELETE included, never see it.
        class_names: the K class names, in index order (default: ``'0'`` .. ``'K-1'``).
        pixel_normalization: per-channel ``(mean, std)`` that turned [0, 1] pixels into the inputs: enables the
            methods that attack in pixel space (BoundaryShrink, L2UL).
        seed: seeds the global RNGs, the sampler and a method's random draws, as a CLI run does.
        work_dir: where mmengine's log (``unlearn.log``) is appended; None: a temporary folder, removed after.
        precision, channels_last: the arithmetic and memory layout of the unlearning, as a config's
            (:mod:`unlearn.precision`: 'fp32', 'bf16', 'fp16' on a GPU, or 'auto'); the weights stay float32.

    Returns the unlearned network on mmengine's device (``get_device()``: a GPU when there is one), in the
    train/eval mode ``model`` was in. Raises :class:`UnlearnError`, in one line, on bad input before training.
    """
    built = build_from(METHODS, dict(type=method, **method_args), 'method')
    forget, remain = _checked_data(built, method, forget_loader, remain_loader)
    _check_schedule(epochs, lr, momentum, weight_decay, seed)
    setting = resolve_precision(dict(precision=precision, channels_last=channels_last))
    if work_dir is not None:
        check_output_folder(work_dir, 'work_dir')
    student = copy.deepcopy(model).to(get_device())
    batch = _first_batch(forget_loader, 'forget_loader')
    task = _task(student, batch, forget_loader, class_names, pixel_normalization)
    classes = resolve_classes(task.class_names, forget_classes)
    _check_labels(batch[1], classes, task.num_classes, 'forget_loader', True)
    if remain_loader is not None:
        _check_labels(_first_batch(remain_loader, 'remain_loader')[1], classes, task.num_classes, 'remain_loader',
                      False)
    request = _forget_request(task, classes, forget, remain)
    data, phases = _prepare(built, method, task, request, student, forget_loader.batch_size, seed,
                            new_network=lambda: _reinitialised(model))
    schedule = dict(max_epochs=epochs, batch_size=forget_loader.batch_size, optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=lr, momentum=momentum, weight_decay=weight_decay)))
    wrapped = UnlearnModel(student, task, built, request)
    with _log_folder(work_dir) as folder, applied(setting):
        driver.run_method(wrapped, built, data, schedule, log_file=folder / 'unlearn.log', seed=seed, phases=phases)
    return wrapped.student.train(model.training)


def _checked_data(method: UnlearningMethod, name: str, forget_loader: DataLoader,
                  remain_loader: Optional[DataLoader]) -> Tuple[Dataset, Optional[Dataset]]:
    """The forget and remaining datasets, if the loaders can serve the method."""
    forget = _check_loader(forget_loader, 'forget_loader')
    remain = _check_loader(remain_loader, 'remain_loader') if remain_loader is not None else None
    if method.uses_remain_data and remain is None:
        raise UnlearnError(f"method '{name}' reads remaining training data: pass remain_loader=DataLoader(...) of "
                           'the data to keep, or choose a forget-only method')
    return forget, remain


def _task(student: nn.Module, batch, forget_loader: DataLoader, class_names: Optional[Sequence[str]],
          pixel_normalization: Optional[Normalization]) -> TensorBatches:
    """The tensor task of the model's K classes (the width of its logits on the first forget ``batch``)."""
    names = _class_names(class_names, _logit_width(student, batch, get_device()))
    collate, workers = forget_loader.collate_fn, forget_loader.num_workers
    if pixel_normalization is None:
        return TensorBatches(names, workers, collate)
    return PixelBatches(names, workers, collate, _normalization(pixel_normalization, batch[0]))


def _prepare(method: UnlearningMethod, name: str, task: TensorTask, request: ForgetRequest, student: nn.Module,
             batch_size: int, seed: int, new_network: Callable[[], nn.Module]) -> Tuple[MethodData, list]:
    """What :func:`unlearn.apis.prepare_method` checks for a CLI run, on the API's task and request."""
    try:
        check_capabilities(task, method)
        data = MethodData.for_method(method, task, request, batch_size=batch_size, seed=seed, new_network=new_network)
        method.check(task, student)
        phases = method.phases(data) if method.trains else []
    except UnlearnError as e:
        hint = ' (pass pixel_normalization=(mean, std) of your inputs)' \
            if PixelImages in method.requires and not isinstance(task, PixelImages) else ''
        raise UnlearnError(f"method '{name}' cannot run here: {e}{hint}") from e
    return data, phases


def _forget_request(task: TensorTask, classes: List[int], forget: Dataset, remain: Optional[Dataset]) -> ForgetRequest:
    """The request the method reads. Nothing is measured and no reference model is trained here, so the evaluation
    splits are the given data (an empty remain split without a remain loader) and the reference data are unused."""
    keep = remain if remain is not None else Subset(forget, [])
    return ForgetRequest(
        forget_classes=classes, forget_names=[task.class_names[i] for i in classes],
        train_forget=forget, train_remain=remain, train_forget_eval=forget, train_remain_eval=keep,
        test_forget=forget, test_remain=keep, original_data=ReferenceData(train=forget, val=forget), oracle_data=None,
        is_forget=lambda batch: labels_in(task.labels(batch), classes))


def _check_schedule(epochs, lr, momentum, weight_decay, seed) -> None:
    """The schedule's values, checked here rather than by the optimiser once the Runner has started."""
    for name, value, valid, wanted in (
            ('epochs', epochs, _is_a(epochs, int) and epochs >= 1, 'an integer >= 1'),
            ('lr', lr, _is_a(lr, Real) and lr > 0, 'a number > 0'),
            ('momentum', momentum, _is_a(momentum, Real) and momentum >= 0, 'a number >= 0'),
            ('weight_decay', weight_decay, _is_a(weight_decay, Real) and weight_decay >= 0, 'a number >= 0'),
            ('seed', seed, _is_a(seed, int), 'an integer')):
        if not valid:
            raise UnlearnError(f'{name} = {value!r}: it must be {wanted}')


def _is_a(value, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _check_loader(loader, name: str) -> Dataset:
    """The loader's dataset, if the Runner can resample it: map-style, not empty, with a batch size."""
    if not isinstance(loader, DataLoader):
        raise UnlearnError(f'{name} must be a torch.utils.data.DataLoader, got {type(loader).__name__}')
    if isinstance(loader.dataset, IterableDataset):
        raise UnlearnError(f'{name} reads an IterableDataset: give it a map-style dataset (with __len__ and '
                           '__getitem__), which the Runner reshuffles every epoch')
    if len(loader.dataset) == 0:
        raise UnlearnError(f'{name} is empty: its dataset has no samples')
    if loader.batch_size is None:
        raise UnlearnError(f'{name} has no batch_size (it was built with a batch_sampler): build it with batch_size=N')
    return loader.dataset


def _first_batch(loader: DataLoader, name: str):
    batch = next(iter(loader), None)
    if batch is None:
        raise UnlearnError(f'{name} yields no batch (drop_last with fewer samples than batch_size?)')
    if not isinstance(batch, (list, tuple)) or len(batch) < 2:
        raise UnlearnError(f'{name} must yield batches (inputs, labels, ...), got a {type(batch).__name__}')
    labels = batch[1]
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.dtype != torch.long:
        what = f'a {labels.dtype} tensor of shape {list(labels.shape)}' if isinstance(labels, Tensor) \
            else type(labels).__name__
        raise UnlearnError(f'{name}: the second entry of a batch must be the int64 class labels [N], got {what}')
    return batch


def _logit_width(network: nn.Module, batch, device) -> int:
    """K, from the network's logits for one batch (in eval mode, so no BatchNorm statistic moves)."""
    inputs = BaseDataPreprocessor().to(device)(list(batch))[0]
    training = network.training
    with torch.no_grad():
        logits = network.eval()(inputs)
    network.train(training)
    if not isinstance(logits, Tensor) or logits.dim() != 2 or len(logits) != len(batch[1]):
        what = f'shape {list(logits.shape)}' if isinstance(logits, Tensor) else f'a {type(logits).__name__}'
        raise UnlearnError(f'model(inputs) must return [N, K] logits for a batch of {len(batch[1])}, got {what}')
    return logits.shape[1]


def _class_names(class_names: Optional[Sequence[str]], num_classes: int) -> List[str]:
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    if isinstance(class_names, str) or len(class_names) != num_classes:
        raise UnlearnError(f'class_names must list the model\'s {num_classes} classes in index order, got '
                           f'{class_names!r}')
    return [str(name) for name in class_names]


def _check_labels(labels: Tensor, classes: List[int], num_classes: int, name: str, forget: bool) -> None:
    """The first batch's labels: in range, and all forget classes (forget loader) or none (remain loader)."""
    seen = sorted(set(labels.tolist()))
    if seen and not 0 <= seen[0] <= seen[-1] < num_classes:
        raise UnlearnError(f'{name} yields label {seen[0] if seen[0] < 0 else seen[-1]}, out of range for the '
                           f'model\'s {num_classes} classes')
    wrong = [c for c in seen if (c in classes) != forget]
    if wrong:
        should = 'only samples of' if forget else 'no sample of'
        raise UnlearnError(f'{name} yields samples of class {wrong[0]} in its first batch; it must hold {should} '
                           f'forget_classes {classes}')


def _normalization(normalization, inputs) -> Normalization:
    """``(mean, std)`` as lists of floats, one value per input channel (or one for all)."""
    try:
        mean, std = (list(map(float, values)) for values in normalization)
    except (TypeError, ValueError):
        raise UnlearnError(f'pixel_normalization must be (mean, std), two lists of numbers, got {normalization!r}') \
            from None
    channels = inputs.shape[1] if isinstance(inputs, Tensor) and inputs.dim() >= 3 else None
    if len(mean) != len(std) or not mean or min(std) <= 0 or (channels and len(mean) not in (1, channels)):
        raise UnlearnError(f'pixel_normalization = {normalization!r}: mean and std need one value per input channel '
                           f'({channels or "any number"}), std > 0')
    return mean, std


def _reinitialised(network: nn.Module) -> nn.Module:
    """A freshly initialised network of the model's architecture (Bad Teacher's incompetent teacher): a copy with
    every module's own ``reset_parameters`` called."""
    fresh = copy.deepcopy(network)
    for module in fresh.modules():
        if hasattr(module, 'reset_parameters'):
            module.reset_parameters()
    return fresh


@contextmanager
def _log_folder(work_dir: Optional[Union[str, Path]]) -> Iterator[Path]:
    """Where the Runner keeps its scratch folder and appends its log."""
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        yield Path(work_dir)
        return
    with tempfile.TemporaryDirectory(prefix='unlearn-') as folder:
        yield Path(folder)
