"""One unlearning run, end to end: build from the config, unlearn, evaluate, write the run folder.

    config -> task adapter (data, splits) -> original model + retrain oracle (cached)
           -> method on the stock mmengine Runner -> metrics of all three -> work_dir/<run>/
"""
import copy
import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.dist import barrier, broadcast_object_list, is_main_process
from mmengine.logging import MMLogger
from torch.utils.data import Subset

from .adapter import Splits, TaskAdapter
from .checkpoint import load_weights, save_json, save_state_dict, save_text, sha256_file
from .config import build_from, build_task, check_config, config_hash
from .config_check import check_output_folder, first_missing
from .engine import init_distributed
from .errors import UnlearnError
from .driver import run_method
from .hooks import UnlearningCurveHook
from .locks import OwnedFolder, remove_abandoned
from .methods.base import MethodData, UnlearningMethod
from .model import UnlearnModel
from .registry import METHODS, register_all_modules
from .reports import markdown_table, plot_curves, render_report
from .training import ORIGINAL, RETRAIN, cached_model_path, check_reference_cache, obtain_model

DEFAULT_SEED = 2022  # the official code's seed (SPEC.md §1.4)


def staging_dir(run_dir: Path) -> Path:
    """The hidden folder a run is written into; renamed to ``run_dir`` only when complete."""
    return run_dir.parent / f'.{run_dir.name}.partial'


def unfinished_runs(work_dir: Path) -> List[Path]:
    """The staging folders under ``work_dir``: runs in progress, or left behind by a run that was killed."""
    return sorted(p for p in work_dir.glob(staging_dir(Path('*')).name) if p.is_dir())


def _new_run_dir(work_dir: Path, method_name: str) -> Path:
    """A fresh, unused folder name: runs are never overwritten."""
    stem = f'{time.strftime("%Y%m%d_%H%M%S")}_{method_name}'
    run_dir, n = work_dir / stem, 1
    while run_dir.exists() or staging_dir(run_dir).exists():
        n += 1
        run_dir = work_dir / f'{stem}_{n}'
    return run_dir


def _fixed_sample(dataset, size: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=generator)[:size].tolist()
    return Subset(dataset, order)


def freeze_classifier(network: torch.nn.Module) -> None:
    """Table 3's frozen linear classifier: every parameter whose name contains 'fc' (SPEC.md §1.6)."""
    frozen = [p for name, p in network.named_parameters() if 'fc' in name]
    if not frozen:
        raise UnlearnError(f'schedule.freeze_classifier: {type(network).__name__} has no parameter named *fc*')
    for p in frozen:
        p.requires_grad_(False)


def package_versions() -> Dict[str, str]:
    import mmengine
    import numpy
    import sklearn
    import torchvision
    versions = dict(python=platform.python_version(), torch=torch.__version__, torchvision=torchvision.__version__,
                    mmengine=mmengine.__version__, numpy=numpy.__version__, scikit_learn=sklearn.__version__)
    try:
        import mmseg
        versions['mmsegmentation'] = mmseg.__version__
    except Exception:  # noqa: BLE001 - optional for non-segmentation runs
        pass
    return versions


def _cached_evaluation(task, network, splits, checkpoint: Path, checkpoint_sha: str, forget_classes,
                       original=None) -> dict:
    """Metrics of a fixed checkpoint on a forget request are computed once and kept beside it."""
    key = hashlib.sha256(json.dumps(dict(ckpt=checkpoint_sha, forget=list(forget_classes),
                                         data=task.fingerprint(), eval=repr(task.evaluation_fingerprint()),
                                         original=original), sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = checkpoint.with_name(f'{checkpoint.stem}.metrics-{key}.json')
    if path.is_file():
        return json.loads(path.read_text())
    metrics = task.evaluate(network, splits, original=original)
    if is_main_process() and os.access(path.parent, os.W_OK):
        save_json(metrics, path)
    return metrics


def build_method(cfg: Config) -> UnlearningMethod:
    """The method of ``cfg``. Its own schedule settings (``method.schedule``, e.g. SCRUB's optimiser) are
    merged over ``cfg.schedule`` first, so the run's config dump shows the schedule that actually ran."""
    method_cfg = dict(cfg.method)
    overrides = method_cfg.pop('schedule', None)
    method = build_from(METHODS, method_cfg, 'method')
    if overrides:
        cfg.merge_from_dict(dict(schedule=overrides))
    if method.trains and cfg.schedule.get('max_epochs', 1) < 1:
        raise UnlearnError(f"schedule.max_epochs = {cfg.schedule['max_epochs']}: {method_cfg['type']} trains, so "
                           'it needs at least one epoch (0 would report the untouched original as unlearned)')
    return method


def method_data(method: UnlearningMethod, task: TaskAdapter, splits: Splits, cfg: Config, seed: int) -> MethodData:
    """What ``method`` may read: the remaining data only if it declares ``uses_remain_data``."""
    remain = method.uses_remain_data
    return MethodData(task, splits.train_forget, splits.train_remain if remain else None,
                      batch_size=cfg.schedule['batch_size'], seed=seed,
                      new_network=lambda: task.build_network(cfg.model), forget_clean=splits.train_forget_clean,
                      remain_clean=splits.train_remain_clean if remain else None)


@dataclass
class ForgetRequest:
    """A validated forget request: the task, which classes, and the splits they induce."""
    task: TaskAdapter
    forget_classes: List[int]
    forget_names: List[str]
    splits: Splits


def build_request(cfg: Config) -> ForgetRequest:
    """Build and check everything a run reads; raises :class:`UnlearnError` on any bad input."""
    register_all_modules()
    check_config(cfg)
    task = build_task(cfg)
    forget_classes = task.resolve_forget_classes(cfg.forget_classes)
    splits = task.build_splits(forget_classes)
    task.build_network(cfg.model)  # fails now on a bad model config
    check_reference_cache(cfg, task, forget_classes)
    for kind in (ORIGINAL, RETRAIN):
        if cfg.get(f'{kind}_checkpoint'):
            try:
                load_weights(task.build_network(cfg.model), cfg.get(f'{kind}_checkpoint'))
            except UnlearnError as e:
                raise UnlearnError(f'{kind}_checkpoint: {e}') from e
    return ForgetRequest(task, forget_classes, task.forget_class_names(forget_classes), splits)


def prepare_models(cfg: Config, kinds=(ORIGINAL, RETRAIN), launcher: str = 'none',
                   request: Optional[ForgetRequest] = None, logger: Optional[MMLogger] = None) -> Dict:
    """The original model and/or the retrain oracle: the user's checkpoint, the cached one, or trained now."""
    request = request or build_request(cfg)
    check_output_folders(cfg, request, kinds, work_dir=False)
    logger = logger or MMLogger.get_instance(f'unlearn-prepare-{time.time_ns()}', logger_name='unlearn')
    obtained = {}
    for kind in kinds:
        started = time.time()
        obtained[kind] = obtain_model(kind, cfg, request.task, request.splits, request.forget_classes, logger,
                                      launcher)
        obtained[kind].wall_time_s = time.time() - started
    return obtained


def check_output_folders(cfg: Config, request: ForgetRequest, kinds=(ORIGINAL, RETRAIN), work_dir: bool = True):
    """The folders a run writes in, checked before anything is trained: the work dir, and the checkpoint
    cache if a reference model will be trained into it."""
    if work_dir:
        check_output_folder(cfg.work_dir, 'work_dir')
    if any(not cfg.get(f'{kind}_checkpoint')
           and not cached_model_path(kind, cfg, request.task, request.forget_classes).is_file() for kind in kinds):
        check_output_folder(cfg.checkpoint_dir, 'checkpoint_dir')


def _remove_created(folder: Path, created: Optional[Path]) -> None:
    """Remove ``folder`` and its parents up to ``created`` while they are empty: a failed run leaves no
    folder it made."""
    while created is not None:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == created:
            return
        folder = folder.parent


def run_unlearning(cfg: Config, launcher: str = 'none') -> Path:
    """Run ``cfg``; return the finished run folder. Bad input raises :class:`UnlearnError` before any write."""
    request = build_request(cfg)
    task, forget_classes, forget_names, splits = (request.task, request.forget_classes, request.forget_names,
                                                  request.splits)
    method = build_method(cfg)
    task.check_method(method)
    seed = cfg.get('seed', DEFAULT_SEED)
    schedule = cfg.schedule
    data = method_data(method, task, splits, cfg, seed)
    try:  # what the method needs from the network and the data, before anything is trained
        method.check(task, task.build_network(cfg.model))
        phases = method.phases(data) if method.trains else []
    except UnlearnError as e:
        raise UnlearnError(f"method '{cfg.method['type']}' cannot run here: {e}") from e

    check_output_folders(cfg, request)
    init_distributed(launcher)
    work_dir = Path(cfg.work_dir)
    created = first_missing(work_dir)
    run_dir = [_new_run_dir(work_dir, cfg.method['type']) if is_main_process() else None]
    broadcast_object_list(run_dir)  # every rank writes (rank 0 only) into the same folder
    run_dir = run_dir[0]
    staging = staging_dir(run_dir)
    owner = OwnedFolder.create(staging) if is_main_process() else None  # tells it from a killed run's leftovers
    barrier()
    # Named by the full path: two work dirs can hold runs of the same name started in the same second.
    logger = MMLogger.get_instance(f'unlearn-{run_dir}', logger_name='unlearn', log_level='INFO',
                                   log_file=str(staging / 'run.log') if is_main_process() else None,
                                   file_mode='a')
    if owner:
        remove_abandoned(work_dir, staging_dir(Path('*')).name, logger)
    data.logger = logger
    try:
        logger.info(f'Forgetting {forget_names} (indices {forget_classes}) with {method.describe()}; '
                    f'run folder {run_dir}')
        timings = {}

        # 2. The original model and the retrain oracle (cached; trained once if absent).
        models = prepare_models(cfg, launcher=launcher, request=request, logger=logger)
        original, oracle = models[ORIGINAL], models[RETRAIN]
        timings.update(original_s=original.wall_time_s, retrain_s=oracle.wall_time_s)
        started = time.time()
        logger.info('Evaluating the original model and the retrain oracle')
        original_metrics = _cached_evaluation(task, original.network, splits, original.checkpoint, original.sha256,
                                              forget_classes)
        oracle_metrics = _cached_evaluation(task, oracle.network, splits, oracle.checkpoint, oracle.sha256,
                                            forget_classes, original=original_metrics)
        timings['evaluate_reference_s'] = time.time() - started

        # 3. Unlearning on the stock mmengine Runner (or a one-shot edit).
        student = copy.deepcopy(original.network)
        if schedule.get('freeze_classifier', False):
            freeze_classifier(student)
        model = UnlearnModel(student, task, method, forget_classes,
                             disable_bn=schedule.get('disable_bn', False) and method.applies_disable_bn)
        curve_hook = None
        if schedule.get('curve_interval', 1) > 0 and method.trains:
            n = schedule.get('curve_samples', 256)
            curve_hook = UnlearningCurveHook(task, dict(
                train_forget=_fixed_sample(splits.train_forget_eval, n, seed),
                test_forget=_fixed_sample(splits.test_forget, n, seed),
                train_remain=_fixed_sample(splits.train_remain_eval, n, seed),
                test_remain=_fixed_sample(splits.test_remain, n, seed)), interval=schedule.get('curve_interval', 1))
        started, cpu_started = time.time(), time.process_time()
        run_method(model, method, data, schedule, log_file=staging / 'run.log', seed=seed, launcher=launcher,
                   custom_hooks=[curve_hook] if curve_hook else [], phases=phases)
        timings['unlearn_s'] = time.time() - started
        cpu_timings = dict(unlearn_s=time.process_time() - cpu_started)  # below wall time x threads: contended

        started = time.time()
        logger.info('Evaluating the unlearned model')
        metrics = task.evaluate(student, splits, original=original_metrics)
        for row in (original_metrics, oracle_metrics, metrics):
            row.update(task.compare_to_retrain(row, oracle_metrics))
        timings['evaluate_s'] = time.time() - started

        if is_main_process():
            task.write_figures(staging / 'plots', {'Original': original.network, 'Retrain': oracle.network,
                                                   method.table_name: student},
                               {'Original': original_metrics, 'Retrain': oracle_metrics, method.table_name: metrics},
                               splits)
            _write_outputs(staging, cfg, task, method, forget_classes, forget_names, seed, original, oracle,
                           student, metrics, original_metrics, oracle_metrics, timings, cpu_timings, curve_hook)
    except BaseException:
        logger.error(f'Run failed; removing the unfinished folder {staging}')
        for handler in logger.handlers:
            handler.close()
        if is_main_process():
            shutil.rmtree(staging, ignore_errors=True)
            owner.release()
            _remove_created(work_dir, created)
        raise
    for handler in logger.handlers:
        handler.flush()
    barrier()
    if is_main_process():
        os.replace(staging, run_dir)
        owner.release(now_at=run_dir)  # after the rename: until then, a cleaner must see it owned
    barrier()  # the returned folder exists for every rank
    logger.info(f'Run written to {run_dir}')
    return run_dir


def _write_outputs(out: Path, cfg, task, method, forget_classes, forget_names, seed, original, oracle, student,
                   metrics, original_metrics, oracle_metrics, timings, cpu_timings, curve_hook) -> None:
    cfg.dump(str(out / 'config.py'))
    output_sha = save_state_dict(student, out / 'unlearned.pth')
    save_json(dict(metrics, original=original_metrics, retrain=oracle_metrics), out / 'metrics.json')
    save_json(dict(
        forget_classes=dict(indices=forget_classes, names=forget_names),
        method=dict(cfg.method), method_uses_remain_data=method.uses_remain_data,
        method_table_name=method.table_name,
        seeds=dict(unlearn=seed, train=cfg.train_schedule.get('seed')),
        config_sha256=config_hash(cfg),
        checkpoints=dict(
            original=dict(path=str(original.checkpoint), sha256=original.sha256,
                          trained_in_this_run=original.trained_now),
            retrain=dict(path=str(oracle.checkpoint), sha256=oracle.sha256,
                         trained_in_this_run=oracle.trained_now),
            unlearned=dict(path='unlearned.pth', sha256=output_sha)),
        wall_time_s=timings, cpu_time_s=cpu_timings, torch_threads=torch.get_num_threads(),
        versions=package_versions(),
        device='cuda' if torch.cuda.is_available() else 'cpu'), out / 'meta.json')
    plot = None
    if curve_hook is not None:
        save_json(curve_hook.history, out / 'curves.json')
        plot = plot_curves(curve_hook.history, out / 'plots' / 'curves.png',
                           f'{cfg.method["type"]} forgetting {", ".join(forget_names)}')
    rows = {'Original': original_metrics, 'Retrain': oracle_metrics, method.table_name: metrics}
    table = markdown_table(rows, task.report_columns())
    facts = {
        'forget classes': f'{forget_names} (indices {forget_classes})',
        'method': method.describe(),
        **task.report_facts(rows),
        'unlearning wall time': f"{timings['unlearn_s']:.1f} s",
        'curves': _curves_fact(method, curve_hook, plot, cfg.schedule),
    }
    save_text(render_report(title=f'Unlearning {", ".join(forget_names)} with {cfg.method["type"]}',
                            table=table, facts=facts, notes=[]), out / 'report.md')


def _curves_fact(method: UnlearningMethod, curve_hook, plot: Optional[Path], schedule) -> str:
    if not method.trains:
        return 'none (a one-shot weight edit has no epochs)'
    if curve_hook is None:
        return 'disabled (schedule.curve_interval = 0)'
    if plot is None:
        points = len(curve_hook.history)
        return (f'not drawn: {points} point{"s" * (points != 1)} (curves.json), a curve needs two; '
                f"schedule.curve_interval = {schedule.get('curve_interval', 1)} with max_epochs = "
                f"{schedule['max_epochs']}")
    return 'plots/curves.png'


def evaluate_checkpoint(cfg: Config, checkpoint: Path) -> tuple:
    """Metrics of ``checkpoint`` on the config's forget request, next to the original and the oracle.

    Returns ``(rows, columns)``: metrics per model and the task's report columns.

    The reference models are evaluated only if they exist (the user's or the cached ones): evaluation
    never trains anything. Without an original model there is no H-Mean.
    """
    request = build_request(cfg)
    task, splits, forget_classes = request.task, request.splits, request.forget_classes
    rows = {}
    for kind, title in ((ORIGINAL, 'Original'), (RETRAIN, 'Retrain')):
        path = Path(cfg.get(f'{kind}_checkpoint') or cached_model_path(kind, cfg, task, forget_classes))
        if path.is_file():
            network = load_weights(task.build_network(cfg.model), path)
            rows[title] = _cached_evaluation(task, network, splits, path, sha256_file(path), forget_classes,
                                             original=rows.get('Original'))
    network = load_weights(task.build_network(cfg.model), checkpoint)
    rows[Path(checkpoint).name] = task.evaluate(network, splits, original=rows.get('Original'))
    return rows, task.report_columns()
