"""Run a benchmark grid (methods x forget sets x seeds x config keys) and write the paper's tables.

    python tools/benchmark.py configs/benchmarks/digits_table1.py
    python tools/benchmark.py CONFIG --out-dir DIR --cfg-options benchmark.seeds="[0,1]" schedule.max_epochs=5
    python tools/benchmark.py CONFIG --dry-run        # list the cells: done, running or pending
    python tools/benchmark.py CONFIG --results-only   # write the tables from the cells finished so far
    python tools/benchmark.py CONFIG --merge other/results.csv   # count cells finished elsewhere as done

Each cell is one run of tools/unlearn.py, in <out_dir>/runs/<cell>/; the original model and the retrain
oracle come from the cache. Rerunning the command skips finished cells. Writes results.csv, table.md and
table.tex (mean ± std over seeds, wall time, speed-up over retraining) in the output folder.

To use several cores or GPUs, start the same command once per core (CUDA_VISIBLE_DEVICES=i for GPU i):
each process takes the next cell no other process is running. To share a grid between machines, or to
keep it across checkouts, keep each part's results.csv and pass them with --merge: a cell finished in one
of them (same config hash, the end of its name; from any grid) is not run again and counts in the tables.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, run_cli  # noqa: E402

from unlearn.benchmark import run_benchmark  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False,
                           config_help='a benchmark config (a run config with a benchmark grid), e.g. '
                                       'configs/benchmarks/digits_table1.py')
    parser.add_argument('--out-dir', help='output folder (default: the config\'s benchmark.out_dir)')
    parser.add_argument('--dry-run', action='store_true', help='check the grid and list its cells; run nothing')
    parser.add_argument('--results-only', action='store_true',
                        help='run nothing; write results.csv and the tables from the cells finished so far')
    parser.add_argument('--merge', nargs='+', default=[], metavar='RESULTS_CSV',
                        help='results.csv files of other benchmark runs (another machine, an earlier checkout, '
                             'another grid): their finished cells with the same config are not run again and '
                             'count in the tables')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    result = run_benchmark(cfg, args.out_dir, dry_run=args.dry_run, results_only=args.results_only,
                           merge=args.merge)
    if args.dry_run:
        for record in result.records:
            print(f"{'merged' if record.get('merged_from') else record['status']:8} {record['cell']}")
        print(f'{len(result.cells)} cells; results would go to {result.out_dir}')
        return
    print((result.out_dir / 'table.md').read_text())
    print(f'Ran {result.ran} of {len(result.cells)} cells; results.csv, table.md and table.tex are in '
          f'{result.out_dir}')
    if result.failures:
        print(f'error: {len(result.failures)} of {len(result.cells)} cells failed (see '
              f'{result.out_dir / "benchmark.log"}); rerun the command to retry them', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
