"""Running unlearning from a config: checks and builds (experiment), the reference models, the method, the
run folder (staging and outputs), end to end (run)."""
from .experiment import DEFAULT_SEED, Experiment, load_experiment
from .method_run import MethodJob, build_method, freeze_classifier, prepare_method
from .outputs import RunResult, curves_fact, package_versions
from .references import ReferenceModels, cached_metrics, reference_rows
from .run import evaluate_checkpoint, prepare_models, prepare_pretrained, run_unlearning
from .staging import staging_dir, unfinished_runs

__all__ = ['DEFAULT_SEED', 'Experiment', 'load_experiment', 'MethodJob', 'build_method', 'freeze_classifier',
           'prepare_method', 'RunResult', 'curves_fact', 'package_versions', 'ReferenceModels', 'cached_metrics',
           'reference_rows', 'evaluate_checkpoint', 'prepare_models', 'prepare_pretrained', 'run_unlearning', 'staging_dir',
           'unfinished_runs']
