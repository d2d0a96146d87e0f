"""What a finished run leaves in its folder, all written from one :class:`RunResult`."""
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from ..capabilities import ExportsModel
from ..checkpoint import save_json, save_state_dict, save_text
from ..config import config_hash
from ..evaluator import Metrics
from ..hooks import UnlearningCurveHook
from ..methods.base import UnlearningMethod
from ..reports import markdown_table, plot_curves, render_report
from ..request import ForgetRequest
from ..training import ObtainedModel
from .experiment import Experiment
from .method_run import MethodJob
from .references import TITLES

NO_ORACLE = 'none was trained or read (retrain = None, or the task has none); what compares with one is left out'


@dataclass
class RunResult:
    """Everything a run produced. ``rows``: the metrics of each model of the table, in order (Original, Retrain
    if there is one, the method's row last); ``references``: the reference models by kind."""
    experiment: Experiment
    job: MethodJob
    request: ForgetRequest
    student: nn.Module
    rows: Dict[str, Metrics]
    references: Dict[str, ObtainedModel]
    timings: Dict[str, float] = field(default_factory=dict)
    cpu_timings: Dict[str, float] = field(default_factory=dict)
    curves: Optional[UnlearningCurveHook] = None

    @property
    def metrics(self) -> Metrics:
        return self.rows[self.job.method.table_name]

    @property
    def networks(self) -> Dict[str, nn.Module]:
        """Every model of the table by its row name."""
        return {**{TITLES[kind]: model.network for kind, model in self.references.items()},
                self.job.method.table_name: self.student}


def package_versions() -> Dict[str, str]:
    """The versions of the packages this process imported (a task's own, e.g. mmseg, among them)."""
    versions = dict(python=platform.python_version())
    for name, module in sorted(sys.modules.items()):
        version = getattr(module, '__version__', None)
        if '.' not in name and not name.startswith('_') and isinstance(version, str):
            versions[name] = version
    return versions


def write_run_folder(out: Path, result: RunResult) -> None:
    """The run's files into ``out``: config.py, unlearned.pth (and the task's own format of it), metrics.json,
    meta.json, report.md, curves.json and the figures under plots/."""
    cfg, request, method, task = result.job.cfg, result.request, result.job.method, result.experiment.task
    evaluator = result.experiment.evaluator
    evaluator.write_figures(out / 'plots', result.networks, result.rows, request)
    cfg.dump(str(out / 'config.py'))
    output_sha = save_state_dict(result.student, out / 'unlearned.pth')
    exported = task.export(result.student, out, cfg) if isinstance(task, ExportsModel) else {}
    save_json(dict(result.metrics, original=result.rows.get('Original'), retrain=result.rows.get('Retrain')),
              out / 'metrics.json')
    checkpoints = {kind: dict(path=str(model.checkpoint), sha256=model.sha256, trained_in_this_run=model.trained_now)
                   for kind, model in result.references.items()}
    save_json(dict(
        forget_classes=dict(indices=request.forget_classes, names=request.forget_names),
        method=dict(cfg.method), method_uses_remain_data=method.uses_remain_data,
        method_table_name=method.table_name,
        seeds=dict(unlearn=result.experiment.seed, train=cfg.train_schedule.get('seed')),
        config_sha256=config_hash(cfg),
        checkpoints=dict(checkpoints, retrain=checkpoints.get('retrain'),
                         unlearned=dict(path='unlearned.pth', sha256=output_sha),
                         **{name: dict(path=name, sha256=sha) for name, sha in exported.items()}),
        wall_time_s=result.timings, cpu_time_s=result.cpu_timings, torch_threads=torch.get_num_threads(),
        versions=package_versions(), **result.experiment.precision.record()), out / 'meta.json')
    save_text(render_report(title=f'Unlearning {", ".join(request.forget_names)} with {cfg.method["type"]}',
                            table=markdown_table(result.rows, evaluator.columns), facts=_facts(out, result),
                            notes=[]), out / 'report.md')


def _facts(out: Path, result: RunResult) -> Dict[str, str]:
    plot, method, request = None, result.job.method, result.request
    if result.curves is not None:
        save_json(result.curves.history, out / 'curves.json')
        plot = plot_curves(result.curves.history, out / 'plots' / 'curves.png',
                           f'{result.job.cfg.method["type"]} forgetting {", ".join(request.forget_names)}')
    facts = {'forget classes': f'{request.forget_names} (indices {request.forget_classes})',
             'method': method.describe()}
    if 'Retrain' not in result.rows:
        facts['retrain oracle'] = NO_ORACLE
    facts.update(result.experiment.evaluator.facts(result.rows))
    facts['unlearning wall time'] = f"{result.timings['unlearn_s']:.1f} s"
    facts['curves'] = curves_fact(method, result.curves, plot, result.job.schedule)
    return facts


def curves_fact(method: UnlearningMethod, curves: Optional[UnlearningCurveHook], plot: Optional[Path],
                schedule) -> str:
    if not method.trains:
        return 'none (a one-shot weight edit has no epochs)'
    if curves is None:
        return 'disabled (schedule.curve_interval = 0)'
    if plot is None:
        points = len(curves.history)
        return (f'not drawn: {points} point{"s" * (points != 1)} (curves.json), a curve needs two; '
                f"schedule.curve_interval = {schedule.get('curve_interval', 1)} with max_epochs = "
                f"{schedule['max_epochs']}")
    return 'plots/curves.png'
