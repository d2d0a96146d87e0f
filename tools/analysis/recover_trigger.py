"""Recover a backdoor's trigger from a model with the config's recovery, and see which class the MAD test flags.

    python tools/analysis/recover_trigger.py configs/backdoor/digits_badnet_forget_backdoor.py
    python tools/analysis/recover_trigger.py CONFIG --model retrain --plots recovery_plots/
    python tools/analysis/recover_trigger.py CONFIG --model work_dirs/<run>/unlearned.pth
    python tools/analysis/recover_trigger.py CONFIG --model retrain --out scans.csv   # one row per scan, appended

Scans the original model (default), the retrain oracle or a checkpoint with the config's recovery (e.g. Neural
Cleanse) and the defender's clean images, as tools/unlearn.py scans the original, and prints per class the
recovered mask's L1 norm, its anomaly index, whether it is flagged and the trigger's success on the defender's
images; then t̂ and its mask IoU with the attack's true trigger and with its mirror image (a pipeline that flips
training images teaches the backdoor both). The oracle never saw a poisoned image: it is the control (Neural
Cleanse's users report clean models whose smallest norm still has an anomaly index above 2). A scan is cached
beside the checkpoints, keyed by the model's weights; nothing is trained. ``--out`` appends the scan's row (the
model, its --cfg-options, t̂, the flag, the norms, the IoUs, the time) to a CSV, which keeps the scans of several
models side by side; ``--plots`` writes trigger_recovery.png, never over an existing one.
"""
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools._common import (  # noqa: E402
    append_csv_rows, appending_outputs, checked_csv_header, config_parser, load_config, run_cli)
from tools.backdoor_eval import backdoor_experiment  # noqa: E402

from torch import nn  # noqa: E402

from tasks.backdoor.adapter import Recovery  # noqa: E402
from tasks.backdoor.visualization import trigger_recovery_figure  # noqa: E402
from unlearn.apis import Experiment, ReferenceModels  # noqa: E402
from unlearn.apis.references import TITLES  # noqa: E402
from unlearn.checkpoint import load_weights  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.reports import save_figure  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False,
                           config_help='a backdoor experiment config (its task: BackdoorTask)')
    parser.add_argument('--model', default='original',
                        help="'original' (default), 'retrain' (the clean oracle: a control) or a checkpoint file")
    parser.add_argument('--out', type=Path, help="append the scan's row to this CSV (created if absent)")
    parser.add_argument('--plots', type=Path, help='write trigger_recovery.png into this folder')
    return parser.parse_args()


def scanned_model(experiment: Experiment, model: str) -> Tuple[str, nn.Module]:
    """The network ``--model`` names (nothing is trained) and its name for the figure."""
    if model in TITLES:
        obtained = ReferenceModels(experiment, kinds=[model]).cached(model)
        if obtained is None:
            raise UnlearnError(f'no {model} model (no {model}_checkpoint, nothing cached in '
                               f'{experiment.cfg.checkpoint_dir}): train it with tools/train.py CONFIG'
                               + (' --retrain' if model == 'retrain' else ''))
        return TITLES[model], obtained.network
    if not Path(model).is_file():
        raise UnlearnError(f"--model {model}: neither 'original', 'retrain' nor a checkpoint file")
    return Path(model).name, load_weights(experiment.task.build_network(experiment.cfg.model), model)


def recovery_table(recovery: Recovery, class_names, true_target: Optional[int]) -> str:
    """A markdown row per scanned class: the MAD test's inputs and verdict, and how well its trigger works."""
    triggers = recovery.triggers
    detection = triggers.detection
    lines = ['| class | mask L1 norm | anomaly index | flagged | success on the defender\'s images (%) | steps |',
             '|---|---|---|---|---|---|']
    for c, norm, index, flagged, success, steps in zip(detection.classes, detection.norms, detection.anomaly_indices,
                                                       detection.flagged, triggers.success_rates, triggers.steps):
        marks = [mark for mark, on in (('t̂', c == detection.target), ('true target', c == true_target)) if on]
        name = class_names[c] + (f" ({', '.join(marks)})" if marks else '')
        lines.append(f"| {name} | {norm:.2f} | {index:.2f} | {'yes' if flagged else 'no'} | {success:.1f} | {steps} |")
    return '\n'.join(lines)


SCAN_TABLE = 'a scan table of this config'
SCAN_FACTS = ('target_name', 'correct', 'flagged', 'anomaly_index', 'mask_iou', 'mask_iou_mirrored', 'recovery_s')


def scan_fields(class_names) -> list:
    """The columns of a scan table: the model, its --cfg-options, the recovery's facts, every class's norm."""
    return ['model', 'cfg_options', *SCAN_FACTS, *(f'norm.{name}' for name in class_names)]


def scan_row(model: str, options: Dict[str, Any], facts: Dict[str, Any], class_names) -> Dict[str, Any]:
    """One CSV row of a scan (a class not scanned has no norm)."""
    return dict(model=model, cfg_options=' '.join(f'{k}={v}' for k, v in options.items()),
                **{k: facts[k] for k in SCAN_FACTS},
                **{f'norm.{name}': facts['norms'].get(name) for name in class_names})


def main():
    args = parse_args()
    out = appending_outputs(args.out, args.plots, 'trigger_recovery.png')
    cfg = load_config(args.config, args.cfg_options)
    experiment = backdoor_experiment(cfg, args.config)
    task = experiment.task
    if args.out:  # before the scan: a table of another config is refused now, not after it
        checked_csv_header(args.out, scan_fields(task.class_names), SCAN_TABLE)
    name, network = scanned_model(experiment, args.model)
    recovery = task.recover(cfg, network)
    attacked = task.attack is not None  # else a suspect model: its trigger and target are unknown
    true_target = task.target if attacked else None
    facts = recovery.facts(task.attack.trigger if attacked else None, true_target, task.class_names)
    print(recovery_table(recovery, task.class_names, true_target))
    verdict = (f"flagged as backdoored (anomaly index {facts['anomaly_index']:.2f} > 2)" if facts['flagged'] else
               f"not flagged: no class looks backdoored (t̂ is the smallest norm, anomaly index "
               f"{facts['anomaly_index']:.2f})")
    if attacked:
        print(f"t̂ = '{facts['target_name']}' ({'the' if facts['correct'] else 'not the'} attack's target "
              f"'{task.class_names[task.target]}'): {verdict}; mask IoU with the true trigger {facts['mask_iou']:.2f}, "
              f"with its mirror image {facts['mask_iou_mirrored']:.2f}")
    else:
        print(f"t̂ = '{facts['target_name']}' (a suspect model: the attack is unknown): {verdict}")
    print(f"{task.recovery_cfg['type']} on the {name}: {facts['recovery_s']:.1f} s"
          + (' (read from the cache)' if facts['cached'] else ''))
    if args.out:
        append_csv_rows(args.out, [scan_row(args.model, args.cfg_options, facts, task.class_names)], SCAN_TABLE)
        print(f'scan appended to {args.out}')
    if out:
        save_figure(trigger_recovery_figure(task, recovery.triggers, name), out)
        print(f'trigger recovery written to {out}')


if __name__ == '__main__':
    run_cli(main)
