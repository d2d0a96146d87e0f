"""One unlearning run, end to end, and the evaluation of a checkpoint on a config's forget request.

    config -> task -> forget request -> reference models (cached) -> method on the stock mmengine Runner
           -> evaluator -> work_dir/<run>/
"""
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Tuple

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import MMLogger

from ..checkpoint import load_weights
from ..config_check import check_output_folder
from ..precision import in_config_precision
from ..training import ObtainedModel
from .experiment import load_experiment
from .method_run import curve_hook, prepare_method, unlearn_copy
from .outputs import RunResult, write_run_folder
from .references import ReferenceModels, reference_rows
from .staging import staged_run


@in_config_precision
def run_unlearning(cfg: Config, launcher: str = 'none') -> Path:
    """Run ``cfg``; return the finished run folder. Bad input raises :class:`UnlearnError` before any write."""
    experiment = load_experiment(cfg)
    references = ReferenceModels(experiment)
    job = prepare_method(experiment, references.original_network)
    check_output_folder(cfg.work_dir, 'work_dir')
    references.check_cache_folder()
    with staged_run(cfg.work_dir, cfg.method['type'], launcher) as (run_dir, staging, logger):
        precision = experiment.precision
        logger.info(f'Forgetting {experiment.request.forget_names} (indices {experiment.request.forget_classes}) '
                    f'with {job.method.describe()}; run folder {run_dir}; precision {precision.name}'
                    f'{", channels-last" if precision.channels_last else ""} on {precision.device}')
        models = references.obtain(logger, launcher)
        timings = {f'{kind}_s': model.wall_time_s for kind, model in models.items()}
        original = models['original'].network
        request = experiment.task.forget_request(cfg, original=original)  # e.g. a trigger recovered from it
        timings['request_s'] = request.preparation_s()
        job = prepare_method(experiment, original, request)
        with timed(timings, 'evaluate_reference_s'):
            logger.info('Evaluating the reference models')
            rows = reference_rows(experiment, models, request)
        curves = curve_hook(experiment, job, request)
        cpu_started = time.process_time()
        with timed(timings, 'unlearn_s'):
            student = unlearn_copy(experiment, job, request, original, logger=logger, log_file=staging / 'run.log',
                                   launcher=launcher, curves=curves)
        cpu_timings = dict(unlearn_s=time.process_time() - cpu_started)  # below wall time x threads: contended
        with timed(timings, 'evaluate_s'):
            logger.info('Evaluating the unlearned model')
            rows[job.method.table_name] = experiment.evaluator.evaluate(student, request, original=rows['Original'])
            if 'Retrain' in rows:
                for row in rows.values():
                    row.update(experiment.evaluator.compare_to_retrain(row, rows['Retrain']))
        if is_main_process():
            write_run_folder(staging, RunResult(experiment, job, request, student, rows, models, timings,
                                                cpu_timings, curves))
    return run_dir


@contextmanager
def timed(timings: Dict[str, float], key: str) -> Iterator[None]:
    """Record the block's wall time as ``timings[key]`` (seconds)."""
    started = time.time()
    yield
    timings[key] = time.time() - started


@in_config_precision
def prepare_models(cfg: Config, kinds=None, launcher: str = 'none', logger=None) -> Dict[str, ObtainedModel]:
    """The original model and/or the retrain oracle: the user's checkpoint, the cached one, or trained now."""
    references = ReferenceModels(load_experiment(cfg), kinds)
    references.check_cache_folder()
    logger = logger or MMLogger.get_instance(f'unlearn-prepare-{time.time_ns()}', logger_name='unlearn')
    return references.obtain(logger, launcher)


@in_config_precision
def prepare_pretrained(cfg: Config, launcher: str = 'none', logger=None) -> ObtainedModel:
    """The pretrained network of a task with a pretraining stage: the user's file, the cached one, or trained now."""
    references = ReferenceModels(load_experiment(cfg), kinds=())  # the stage alone: no reference model is read
    if references.stage is not None and references.pretrained_sha is None:
        check_output_folder(cfg.checkpoint_dir, 'checkpoint_dir')
    logger = logger or MMLogger.get_instance(f'unlearn-prepare-{time.time_ns()}', logger_name='unlearn')
    return references.obtain_pretrained(logger, launcher)


@in_config_precision
def evaluate_checkpoint(cfg: Config, checkpoint: Path) -> Tuple[Dict[str, dict], Dict[str, str]]:
    """Metrics of ``checkpoint`` on the config's forget request, next to the original and the oracle.

    Returns ``(rows, columns)``: metrics per model and the evaluator's report columns with their titles.
    The reference models are evaluated only if they exist (the user's or the cached ones): evaluation never
    trains anything. Without an original model there is no H-Mean.
    """
    experiment = load_experiment(cfg)
    references = ReferenceModels(experiment)
    models = {kind: model for kind in references.kinds if (model := references.cached(kind)) is not None}
    rows = reference_rows(experiment, models, experiment.request)
    network = load_weights(experiment.task.build_network(cfg.model), checkpoint)
    rows[Path(checkpoint).name] = experiment.evaluator.evaluate(network, experiment.request,
                                                                original=rows.get('Original'))
    return rows, experiment.evaluator.columns
