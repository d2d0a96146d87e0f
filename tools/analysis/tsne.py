"""t-SNE of the test set's penultimate features: Original, Retrain and each run's model (the paper's Fig. 4).

    python tools/analysis/tsne.py work_dirs/digits_forget_3/<DELETE run> work_dirs/.../<baseline run>
    python tools/analysis/tsne.py RUN [RUN ...] --out fig4.png --samples 2000 --perplexity 30

The runs must have forgotten the same classes from the same original model; the Original and Retrain panels
use the first run's checkpoints. Every panel embeds the same fixed sample of the test set.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools._common import run_cli  # noqa: E402

from tasks.classification.visualization import (fixed_subset, penultimate_features, plot_tsne,  # noqa: E402
                                                tsne_2d)
from unlearn.run_folders import load_run_networks  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', type=Path, help='run folders (e.g. DELETE, then a baseline)')
    parser.add_argument('--out', type=Path, help='the PNG (default: <first run>/plots/tsne.png)')
    parser.add_argument('--samples', type=int, default=2000, help='test images embedded (a fixed random sample)')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    experiment, networks = load_run_networks(args.runs)
    request = experiment.request
    images = fixed_subset(request.test, args.samples, args.seed)
    embeddings = {}
    for name, network in networks.items():
        features, labels = penultimate_features(network, images)
        embeddings[name] = tsne_2d(features, args.perplexity, args.seed)
        print(f'{name}: embedded {len(labels)} test images ({features.shape[1]} features)')
    out = args.out or args.runs[0] / 'plots' / 'tsne.png'
    plot_tsne(embeddings, labels, experiment.task.class_names, request.forget_classes, out,
              title=f'Forgetting {", ".join(request.forget_names)}: penultimate features of the test set')
    print(f't-SNE written to {out}')


if __name__ == '__main__':
    run_cli(main)
