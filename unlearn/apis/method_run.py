"""The unlearning itself: the method built and checked against the task, then run on a copy of the original."""
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn
from torch.utils.data import Dataset, Subset

from ..capabilities import check_capabilities
from ..config import build_from
from ..driver import run_method
from ..errors import UnlearnError
from ..hooks import UnlearningCurveHook
from ..methods.base import MethodData, Phase, UnlearningMethod
from ..model import UnlearnModel
from ..registry import METHODS
from ..request import ForgetRequest
from .experiment import Experiment


@dataclass
class MethodJob:
    """A method ready to run: its effective config (``method.schedule`` merged over ``schedule``), the data
    it may read and the phases of its epochs."""
    method: UnlearningMethod
    cfg: Config
    data: MethodData
    phases: List[Phase]

    @property
    def schedule(self):
        return self.cfg.schedule


def build_method(cfg: Config) -> Tuple[UnlearningMethod, Config]:
    """The method of ``cfg`` and the config it runs under: its own schedule settings (``method.schedule``, e.g.
    SCRUB's optimiser) merged over ``cfg.schedule`` in a copy, so the run's config dump shows the schedule
    that actually ran. ``cfg`` is not changed."""
    method_cfg = dict(cfg.method)
    overrides = method_cfg.pop('schedule', None)
    method = build_from(METHODS, method_cfg, 'method')
    effective = copy.deepcopy(cfg)
    if overrides:
        effective.merge_from_dict(dict(schedule=overrides))
    if method.trains and effective.schedule.get('max_epochs', 1) < 1:
        raise UnlearnError(f"schedule.max_epochs = {effective.schedule['max_epochs']}: {method_cfg['type']} trains, "
                           'so it needs at least one epoch (0 would report the untouched original as unlearned)')
    return method, effective


def prepare_method(experiment: Experiment, network: nn.Module,
                   request: Optional[ForgetRequest] = None) -> MethodJob:
    """Build the method and check everything it needs from the task, ``request`` and ``network`` (the original's).

    A run prepares twice: on the experiment's provisional request before anything is trained (bad input fails
    early), then on the request built with the original, which a task may change (a trigger recovered from the
    original stamps the forget set): the method trains on that one."""
    method, cfg = build_method(experiment.cfg)
    task = experiment.task
    try:
        check_capabilities(task, method)
        data = MethodData.for_method(method, task, request or experiment.request, batch_size=cfg.schedule['batch_size'],
                                     seed=experiment.seed, new_network=lambda: task.build_network(cfg.model))
        method.check(task, network)
        phases = method.phases(data) if method.trains else []
    except UnlearnError as e:
        raise UnlearnError(f"method '{cfg.method['type']}' cannot run here: {e}") from e
    return MethodJob(method, cfg, data, phases)


def freeze_classifier(task, network: nn.Module) -> None:
    """Table 3's frozen linear classifier (SPEC.md §1.6): the task's classifier layer, whatever its name."""
    for p in task.classifier(network).parameters():
        p.requires_grad_(False)


def _fixed_sample(dataset: Dataset, size: int, seed: int) -> Subset:
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=generator)[:size].tolist()
    return Subset(dataset, order)


def curve_hook(experiment: Experiment, job: MethodJob, request: ForgetRequest) -> Optional[UnlearningCurveHook]:
    """The hook that records the unlearning curves on fixed samples of the four splits (None: no curves)."""
    schedule, seed = job.schedule, experiment.seed
    if schedule.get('curve_interval', 1) <= 0 or not job.method.trains:
        return None
    n = schedule.get('curve_samples', 256)
    samples = dict(train_forget=_fixed_sample(request.train_forget_eval, n, seed),
                   test_forget=_fixed_sample(request.test_forget, n, seed),
                   train_remain=_fixed_sample(request.train_remain_eval, n, seed),
                   test_remain=_fixed_sample(request.test_remain, n, seed))
    return UnlearningCurveHook(experiment.evaluator, samples, request, interval=schedule.get('curve_interval', 1))


def unlearn_copy(experiment: Experiment, job: MethodJob, request: ForgetRequest, original: nn.Module, *,
                 logger: MMLogger, log_file: Path, launcher: str = 'none',
                 curves: Optional[UnlearningCurveHook] = None) -> nn.Module:
    """A copy of ``original``, unlearned by the job's method on the stock mmengine Runner (or one edit)."""
    task, schedule, method = experiment.task, job.schedule, job.method
    student = copy.deepcopy(original)
    if schedule.get('freeze_classifier', False):
        freeze_classifier(task, student)
    model = UnlearnModel(student, task, method, request,
                         disable_bn=schedule.get('disable_bn', False) and method.applies_disable_bn)
    job.data.logger = logger
    run_method(model, method, job.data, schedule, log_file=log_file, seed=experiment.seed, launcher=launcher,
               custom_hooks=[curves] if curves else [], phases=job.phases)
    return model.student
