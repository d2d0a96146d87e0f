"""Evaluate a checkpoint on a config's forget request: the paper's metrics beside the original and oracle.

    python tools/test.py configs/cls/digits_forget_3.py work_dirs/digits_forget_3/<run>/unlearned.pth
    python tools/test.py CONFIG CHECKPOINT --out metrics.json --cfg-options task.eval_train_augmented=False

The original model and the retrain oracle are included when they exist (your checkpoints or the cache);
nothing is trained. ``--out`` writes the metrics as JSON and refuses to overwrite an existing file.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, run_cli  # noqa: E402
from unlearn.apis import evaluate_checkpoint  # noqa: E402
from unlearn.checkpoint import save_json  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.reports import markdown_table  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False)
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='write the metrics of all rows to this JSON file (must not exist)')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.out and Path(args.out).exists():
        raise UnlearnError(f'{args.out} exists; choose another --out (results are never overwritten)')
    cfg = load_config(args.config, args.cfg_options)
    rows, columns = evaluate_checkpoint(cfg, Path(args.checkpoint))
    print(markdown_table(rows, columns))
    if args.out:
        save_json(rows, args.out)
        print(f'metrics written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
