"""How much the attack's trigger changes each triggered test image, and each model's attack success by that change.

    python tools/analysis/trigger_visibility.py configs/backdoor/digits_badnet_forget_backdoor.py
    python tools/analysis/trigger_visibility.py CONFIG --model original retrain --out visibility.csv --plots plots/
    python tools/analysis/trigger_visibility.py CONFIG --model --cfg-options task.attack.size=5   # the data alone

A patch only changes the pixels it covers as far as they differ from its pattern: a white BadNet patch on an
image whose corner is already white leaves the image as it was, and no model can both call that image the target
when it counts as triggered and its true class when it counts as clean. The non-target test images (those ASR is
measured on) are binned by the stamp's mean change over the trigger's footprint (``Trigger.footprint_change``, 0
to 1); per bin the tool prints their number and share and, for each ``--model`` ('original', 'retrain' or a
checkpoint), its ASR on them triggered and how many of their clean images it already calls the target. The share
of the first bins bounds the ASR any model can reach without misclassifying those clean images. ``--out`` appends
one row per bin and model to a CSV (several configs side by side); ``--plots`` writes trigger_visibility.png,
never over an existing one. Nothing is trained.
"""
import os
import sys
from pathlib import Path
from typing import Dict, List, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools._common import (  # noqa: E402
    append_csv_rows, appending_outputs, checked_csv_header, config_parser, load_config, run_cli)
from tools.analysis.recover_trigger import scanned_model  # noqa: E402
from tools.backdoor_eval import backdoor_experiment  # noqa: E402

import numpy as np  # noqa: E402

from tasks.backdoor.adapter import outside_target  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.metrics.classification import predicted_classes  # noqa: E402
from unlearn.reports import save_figure  # noqa: E402

#: Bin edges of the stamp's change, in [0, 1]: the first bins are images the trigger barely changes.
EDGES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 1.0)
TABLE = 'a trigger visibility table'
FIELDS = ('model', 'cfg_options', 'change_from', 'change_to', 'images', 'share', 'asr', 'clean_as_target')


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False,
                           config_help='a backdoor experiment config (its task: BackdoorTask, with an attack)')
    parser.add_argument('--model', nargs='*', default=['original'],
                        help="'original' (default), 'retrain' or checkpoint files; none (a bare --model): the data "
                             'alone')
    parser.add_argument('--out', type=Path, help='append one row per bin and model to this CSV (created if absent)')
    parser.add_argument('--plots', type=Path, help='write trigger_visibility.png into this folder')
    return parser.parse_args()


def change_bins(change: np.ndarray, edges: Sequence[float] = EDGES) -> np.ndarray:
    """The bin of each image's change: ``i`` for ``edges[i] <= change < edges[i + 1]``, the last bin closed."""
    if np.any((change < edges[0]) | (change > edges[-1])):
        raise ValueError(f'changes must lie in [{edges[0]}, {edges[-1]}]')
    return np.minimum(np.searchsorted(edges, change, side='right') - 1, len(edges) - 2)


def visibility_rows(change: np.ndarray, predictions: Dict[str, Dict[str, np.ndarray]], target: int,
                    edges: Sequence[float] = EDGES) -> List[dict]:
    """Per model (None: the data alone) and bin: the images, their share (%), the model's ASR on them triggered
    and the share of their clean images it predicts as ``target`` (%; None in an empty bin or without a model).

    ``predictions``: model name -> ``{'triggered': classes, 'clean': classes}``, one class per image of
    ``change``."""
    bins = change_bins(change, edges)
    rows = []
    for model, predicted in (predictions or {None: None}).items():
        for i in range(len(edges) - 1):
            inside = bins == i
            count = int(inside.sum())

            def percent_target(split):
                if predicted is None or not count:
                    return None
                return 100.0 * float(np.mean(predicted[split][inside] == target))

            rows.append(dict(model=model, change_from=edges[i], change_to=edges[i + 1], images=count,
                             share=100.0 * count / len(change), asr=percent_target('triggered'),
                             clean_as_target=percent_target('clean')))
    return rows


def markdown(rows: List[dict], models: Sequence[str]) -> str:
    """One line per bin: images and share, then each model's ASR and clean-as-target share."""
    head = ['stamp change', 'images', 'share (%)']
    for model in models:
        head += [f'{model}: ASR (%)', f'{model}: clean called the target (%)']
    bins = [row for row in rows if row['model'] == rows[0]['model']]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for i, row in enumerate(bins):
        closing = ']' if i == len(bins) - 1 else ')'
        cells = [f"[{row['change_from']:g}, {row['change_to']:g}{closing}", str(row['images']), f"{row['share']:.2f}"]
        for model in models:
            other = next(r for r in rows if r['model'] == model and r['change_from'] == row['change_from'])
            cells += ['–' if other[k] is None else f'{other[k]:.2f}' for k in ('asr', 'clean_as_target')]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def visibility_figure(rows: List[dict], models: Sequence[str], title: str):
    """Each bin's share of the images (bars) and each model's ASR in it (lines)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    bins = [row for row in rows if row['model'] == rows[0]['model']]
    labels = [f"{row['change_from']:g}-{row['change_to']:g}" for row in bins]
    x = np.arange(len(bins))
    figure, shares = plt.subplots(figsize=(7, 4))
    shares.bar(x, [row['share'] for row in bins], color='0.8', label='share of the images')
    shares.set(xticks=x, xlabel="the stamp's mean change over the trigger's footprint",
               ylabel='share of the triggered test images (%)', title=title)
    shares.set_xticklabels(labels)
    if models:
        rates = shares.twinx()
        for model in models:
            asr = [row['asr'] for row in rows if row['model'] == model]
            rates.plot(x, [np.nan if a is None else a for a in asr], marker='o', label=f'{model}: ASR')
        rates.set(ylabel='ASR (%)', ylim=(0, 101))
        rates.legend(loc='upper left')
    figure.tight_layout()
    return figure


def main():
    args = parse_args()
    out = appending_outputs(args.out, args.plots, 'trigger_visibility.png')
    if args.out:
        checked_csv_header(args.out, FIELDS, TABLE)
    cfg = load_config(args.config, args.cfg_options)
    experiment = backdoor_experiment(cfg, args.config)
    task, evaluator = experiment.task, experiment.evaluator
    if task.attack is None:
        raise UnlearnError('task.attack=None is a suspect model: its trigger is unknown, so there is nothing to '
                           'measure; give the attack')
    clean = outside_target(task.data.test, task.target)  # as task.poisoned.test_forget, unstamped
    change = task.attack.trigger.footprint_change(clean.images.permute(0, 2, 3, 1).numpy())
    names = {model: scanned_model(experiment, model) for model in args.model}  # all found before any pass
    predictions = {}
    for model, (name, network) in names.items():
        predictions[name] = {
            split: predicted_classes(evaluator.predict(network, dataset, key, desc=f'{name}, {split}')[0])
            for split, dataset, key in (('triggered', task.poisoned.test_forget, 'test_forget'),
                                        ('clean', clean, 'test_remain'))}
    rows = visibility_rows(change, predictions, task.target)
    models = list(predictions)
    print(markdown(rows, models))
    faint = float(np.mean(change < EDGES[1]) * 100)
    print(f'{faint:.2f}% of the {len(change)} triggered test images differ from their clean image by less than '
          f'{EDGES[1]:g} on average where the trigger sits')
    for name, predicted in predictions.items():
        print(f"{name}: ASR {100 * np.mean(predicted['triggered'] == task.target):.2f}%")
    if args.out:
        options = ' '.join(f'{k}={v}' for k, v in args.cfg_options.items())
        table = [{key: dict(row, model=row['model'] or 'none', cfg_options=options)[key] for key in FIELDS}
                 for row in rows]
        append_csv_rows(args.out, table, TABLE)
        print(f'{len(rows)} rows appended to {args.out}')
    if out:
        attack = {key: value for key, value in task.attack_cfg.items() if key != 'type'}
        title = f"{task.attack_cfg['type']} ({', '.join(f'{k}={v}' for k, v in attack.items())})"
        save_figure(visibility_figure(rows, models, title), out)
        print(f'trigger visibility written to {out}')


if __name__ == '__main__':
    run_cli(main)
