"""Draw a benchmark's figure from its results.csv: seed boxes, metric vs forget-set size, or a grid sweep.

Fig. 2 is the boxes over seeds, Fig. 3 a metric against the forget-set size, a sweep the metrics against
grid keys (e.g. Table 5's alpha and T), and a methods sweep every method against one grid key (the backdoor's
trigger size).

    python tools/analysis/plot_results.py work_dirs/benchmarks/digits_table1/results.csv seed_boxplot
    python tools/analysis/plot_results.py RESULTS_CSV seed_boxplot --metrics acc_ft acc_rt h_mean --out fig2.png
    python tools/analysis/plot_results.py RESULTS_CSV forget_set_size --metrics acc_rt --out fig3.png
    python tools/analysis/plot_results.py RESULTS_CSV sweep --keys method.alpha method.temperature
    python tools/analysis/plot_results.py RESULTS_CSV methods_sweep --keys task.attack.size --metrics clean_acc asr

The metrics are labelled with the titles of the task's evaluator, read from the benchmark.json the benchmark
wrote beside results.csv (without one, by their keys).
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools._common import run_cli  # noqa: E402

from unlearn.benchmark import forget_set_size_plot, read_results, seed_boxplot, sweep_plot  # noqa: E402
from unlearn.benchmark.figures import FIGURES, methods_sweep_plot  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', type=Path, help="a benchmark's results.csv")
    parser.add_argument('figure', choices=FIGURES)
    parser.add_argument('--metrics', nargs='+', help='columns of results.csv (default: acc_ft acc_rt for the '
                        'boxplot, h_mean for the forget-set sizes, acc_ft acc_rt h_mean for either sweep)')
    parser.add_argument('--keys', nargs='+', help='sweep, methods_sweep: the grid keys (columns of results.csv)')
    parser.add_argument('--out', type=Path, help='the PNG (default: <figure>.png beside results.csv)')
    return parser.parse_args()


def metric_titles(results: Path) -> dict:
    """The metric titles the benchmark used (its benchmark.json beside ``results``), or none."""
    index = results.with_name('benchmark.json')
    try:
        titles = json.loads(index.read_text()).get('titles') if index.is_file() else None
    except (OSError, ValueError, AttributeError):
        titles = None
    return titles if isinstance(titles, dict) else {}


def main():
    args = parse_args()
    if not args.results.is_file():
        raise UnlearnError(f'no results file {args.results}')
    records = read_results(args.results)
    out = args.out or args.results.with_name(f'{args.figure}.png')
    titles = metric_titles(args.results)
    if args.figure == 'seed_boxplot':
        seed_boxplot(records, out, metrics=args.metrics or ('acc_ft', 'acc_rt'), titles=titles)
    elif args.figure in ('sweep', 'methods_sweep'):
        if not args.keys:
            raise UnlearnError(f'{args.figure} needs --keys: the grid keys to plot against, e.g. method.alpha '
                               'method.temperature')
        draw = sweep_plot if args.figure == 'sweep' else methods_sweep_plot
        draw(records, out, args.keys, metrics=args.metrics or ('acc_ft', 'acc_rt', 'h_mean'), titles=titles)
    else:
        forget_set_size_plot(records, out, metric=(args.metrics or ['h_mean'])[0], titles=titles)
    print(f'{args.figure} written to {out}')


if __name__ == '__main__':
    run_cli(main)
