"""What the method tests share: the digits task, a briefly trained tiny CNN, and ways to drive a method."""
import bisect
import copy
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch.utils.data import ConcatDataset, DataLoader, Subset

from mmengine.config import Config

from tasks.classification.adapter import ClassificationTask
from unlearn.adapter import TaskAdapter
from unlearn.driver import run_method
from unlearn.methods.base import MethodData
from unlearn.model import UnlearnModel
from unlearn.request import ForgetRequest
from unlearn.tensor_task import Relabelled

FORGET = (3,)
MODEL_CFG = dict(type='DigitsCNN')


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """8x8 images and a tiny CNN gain nothing from intra-op threads, and on a busy machine their spinning
    costs 10-30x: each method test module runs single-threaded (import this fixture to apply it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def digits_task() -> ClassificationTask:
    return ClassificationTask(dataset=dict(type='Digits'))


@lru_cache(maxsize=None)
def digits_request(forget: Sequence[int] = FORGET) -> ForgetRequest:
    return digits_task().forget_request(Config(dict(forget_classes=list(forget))))


@lru_cache(maxsize=None)
def _trained_state() -> dict:
    """A DigitsCNN trained for three epochs (~97 % test accuracy): attacks and teachers mean something."""
    task = digits_task()
    torch.manual_seed(0)
    network = task.build_network(MODEL_CFG)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.05, momentum=0.9)
    network.train()
    for _ in range(3):
        for batch in DataLoader(task.data.train, batch_size=64, shuffle=True):
            optimizer.zero_grad()
            task.supervised_loss(network, batch).backward()
            optimizer.step()
    return copy.deepcopy(network.eval().state_dict())


def trained_network() -> torch.nn.Module:
    network = digits_task().build_network(MODEL_CFG)
    network.load_state_dict(_trained_state())
    return network


def wrapper(method, freeze_classifier: bool = False) -> UnlearnModel:
    """The unlearning wrapper around a fresh copy of the trained CNN."""
    from unlearn.apis import freeze_classifier as freeze
    student = trained_network()
    if freeze_classifier:
        freeze(digits_task(), student)
    return UnlearnModel(student, digits_task(), method, digits_request())


def method_data(method, batch_size: int = 32, remain_size: Optional[int] = None, seed: int = 0) -> MethodData:
    """What the pipeline gives ``method``: the remaining data only if it uses it (optionally a prefix of it)."""
    task = digits_task()
    splits = digits_request()
    remain = remain_clean = None
    if method.uses_remain_data:
        size = len(splits.train_remain) if remain_size is None else remain_size
        remain, remain_clean = (Subset(d, range(size)) for d in (splits.train_remain, splits.train_remain_clean))
    return MethodData(task, splits.train_forget, remain, batch_size=batch_size, seed=seed,
                      new_network=lambda: task.build_network(MODEL_CFG), forget_clean=splits.train_forget_clean,
                      remain_clean=remain_clean, request=splits)


def first_batch(dataset, n: int = 32) -> list:
    return next(iter(DataLoader(dataset, batch_size=n, shuffle=False)))


def forget_batch(n: int = 32) -> list:
    return first_batch(digits_request().train_forget, n)


def sgd_steps(model: UnlearnModel, batches: Sequence, lr: float = 0.05, momentum: float = 0.9,
              weight_decay: float = 0.0) -> OptimWrapper:
    """One mmengine ``train_step`` per batch, as the Runner takes them."""
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay))
    model.train()
    for batch in batches:
        model.train_step(list(batch), optim)
    return optim


def run(model: UnlearnModel, data: MethodData, tmp_path: Path, max_epochs: int = 1, lr: float = 0.05,
        weight_decay: float = 0.0, batch_size: int = 32, log_interval: int = 1000) -> None:
    """The real thing: :func:`unlearn.driver.run_method` on the stock mmengine Runner (log in tmp_path/run.log)."""
    schedule = dict(max_epochs=max_epochs, batch_size=batch_size, log_interval=log_interval, optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=weight_decay)))
    run_method(model, model.method, data, schedule, log_file=tmp_path / 'run.log', seed=0)


def true_labels(dataset, indices: Optional[Sequence[int]] = None) -> set:
    """The true classes of the samples ``dataset`` reads, through any subset, concatenation or relabelling
    (so a test sees what a method reads, whatever labels it serves)."""
    indices = range(len(dataset)) if indices is None else indices
    if isinstance(dataset, Subset):
        return true_labels(dataset.dataset, [dataset.indices[i] for i in indices])
    if isinstance(dataset, Relabelled):
        return true_labels(dataset.dataset, indices)
    if isinstance(dataset, ConcatDataset):
        labels = set()
        for i in indices:
            part = bisect.bisect_right(dataset.cumulative_sizes, i)
            offset = dataset.cumulative_sizes[part - 1] if part else 0
            labels |= true_labels(dataset.datasets[part], [i - offset])
        return labels
    return {dataset.targets[i] for i in indices}  # the in-memory images and their labels


class NoPixelsTask(TaskAdapter):
    """A task without images in pixel space or relabelable samples (e.g. a future non-image task)."""
    class_names = ['a', 'b', 'c']
