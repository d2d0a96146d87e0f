"""Evaluate a backdoor-defense checkpoint: clean accuracy, ASR and the recovery beside the original and the oracle.

    python tools/backdoor_eval.py configs/backdoor/<config>.py work_dirs/<run>/unlearned.pth
    python tools/backdoor_eval.py CONFIG CHECKPOINT --out backdoor_metrics.csv --plots backdoor_plots/

Prints the report's table (the BackdoorEvaluator's columns) for the original model, the retrain oracle and the
checkpoint, and what the trigger recovery found. The original and the oracle are included when they exist (your
checkpoints or the cache); nothing is trained. The trigger is recovered from the original as tools/unlearn.py
recovers it (read from the cache beside the checkpoints when it is there), so the recovered-trigger ASR is the
one a run reports. ``--out`` writes every row's numbers as CSV, ``--plots`` trigger_recovery.png and
triggered_examples.png; an existing ``--out`` file or a non-empty ``--plots`` folder is refused before anything
is evaluated (results are never overwritten).
"""
import csv
import io
import os
import sys
from pathlib import Path
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, refuse_overwrites, run_cli  # noqa: E402

from mmengine.config import Config  # noqa: E402

from tasks.backdoor.adapter import BackdoorTask  # noqa: E402
from unlearn.apis import Experiment, ReferenceModels, load_experiment, reference_rows  # noqa: E402
from unlearn.apis.references import TITLES  # noqa: E402
from unlearn.checkpoint import atomic_write, load_weights  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.evaluator import Metrics  # noqa: E402
from unlearn.precision import in_config_precision  # noqa: E402
from unlearn.reports import markdown_table  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False,
                           config_help='a backdoor experiment config (its task: BackdoorTask)')
    parser.add_argument('checkpoint', type=Path)
    parser.add_argument('--out', type=Path, help='write the numbers of all rows to this CSV file (must not exist)')
    parser.add_argument('--plots', type=Path, help='write trigger_recovery.png and triggered_examples.png into this '
                        'folder (new or empty)')
    return parser.parse_args()


def backdoor_experiment(cfg: Config, config: str) -> Experiment:
    """The config's experiment, refused unless its task is a backdoor defense (also for tools/analysis)."""
    experiment = load_experiment(cfg)
    if not isinstance(experiment.task, BackdoorTask):
        raise UnlearnError(f'{config} is not a backdoor config (its task is {type(experiment.task).__name__}); '
                           'evaluate it with tools/test.py')
    return experiment


def metrics_csv(rows: Dict[str, Metrics], columns: Dict[str, str]) -> str:
    """One line per model: its name, the table's ``columns``, then its other numbers (nested ones, e.g. per class,
    left out)."""
    numbers = [k for k, v in next(iter(rows.values())).items() if v is None or isinstance(v, (int, float))]
    keys = list(dict.fromkeys([*columns, *numbers]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['model', *keys])
    writer.writerows([name, *('' if row.get(k) is None else row[k] for k in keys)] for name, row in rows.items())
    return buffer.getvalue()


def main():
    args = parse_args()
    refuse_overwrites(args.out, args.plots)
    report(load_config(args.config, args.cfg_options), args)


@in_config_precision
def report(cfg: Config, args) -> None:
    """The table (and the CSV, the figures) of ``args.checkpoint`` beside the reference models."""
    experiment = backdoor_experiment(cfg, args.config)
    task, evaluator = experiment.task, experiment.evaluator
    network = load_weights(task.build_network(cfg.model), args.checkpoint)
    references = ReferenceModels(experiment)
    models = {kind: model for kind in references.kinds if (model := references.cached(kind)) is not None}
    if 'original' not in models and args.plots:
        raise UnlearnError(f'--plots shows the trigger recovered from the original model, and there is none (no '
                           f'original_checkpoint, nothing cached in {cfg.checkpoint_dir}): train it with '
                           f'tools/train.py {args.config}')
    request = (task.forget_request(cfg, original=models['original'].network) if 'original' in models
               else experiment.request)
    rows = reference_rows(experiment, models, request)
    rows[args.checkpoint.name] = evaluator.evaluate(network, request, original=rows.get('Original'))
    print(markdown_table(rows, evaluator.columns))
    for name, fact in evaluator.facts(rows).items():
        print(f'- {name}: {fact}')
    if args.out:
        text = metrics_csv(rows, evaluator.columns)
        atomic_write(args.out, lambda f: f.write(text.encode()))
        print(f'metrics written to {args.out}')
    if args.plots:
        networks = {TITLES[kind]: model.network for kind, model in models.items()}
        evaluator.write_figures(args.plots, {**networks, args.checkpoint.name: network}, rows, request)
        print(f'figures written to {args.plots}: trigger_recovery.png, triggered_examples.png')


if __name__ == '__main__':
    run_cli(main)
