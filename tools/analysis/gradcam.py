"""Grad-CAM of several face runs side by side: Original, Retrain and each run's unlearned model (the paper's Fig. 5).

    python tools/analysis/gradcam.py work_dirs/<face config>/<DELETE run> work_dirs/.../<baseline run>
    python tools/analysis/gradcam.py RUN [RUN ...] --out fig5.png --faces 4

The runs must have forgotten the same identities from the same original model; the Original and Retrain
columns use the first run's checkpoints. Every column explains the same test faces, each row on one colour
scale. The PNG is never overwritten.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools._common import run_cli  # noqa: E402

from tasks.face.evaluator import FIGURE_FACES, FaceEvaluator  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.run_folders import load_run_networks  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', type=Path, help='face run folders (e.g. DELETE, then baselines)')
    parser.add_argument('--out', type=Path, help='the PNG (default: <first run>/plots/gradcam_runs.png)')
    parser.add_argument('--faces', type=int, default=FIGURE_FACES,
                        help='forgotten and remaining test faces shown (rows: twice this)')
    return parser.parse_args()


def main():
    args = parse_args()
    out = args.out or args.runs[0] / 'plots' / 'gradcam_runs.png'
    if out.exists():
        raise UnlearnError(f'{out} exists; choose another --out (figures are never overwritten)')
    if args.faces < 1:
        raise UnlearnError(f'--faces {args.faces}: show at least one face of each kind')
    experiment, networks = load_run_networks(args.runs)
    if not isinstance(experiment.evaluator, FaceEvaluator):
        raise UnlearnError(f'{args.runs[0]} is not a face run (its evaluator is {type(experiment.evaluator).__name__})'
                           ': Grad-CAM of identities needs the face task')
    experiment.evaluator.gradcam_figure(out, networks, experiment.request, faces=args.faces)
    print(f'Grad-CAM of {", ".join(networks)} written to {out}')


if __name__ == '__main__':
    run_cli(main)
