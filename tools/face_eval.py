"""Evaluate a face checkpoint: verification, Grad-CAM and corruption metrics beside the original and the oracle.

    python tools/face_eval.py configs/face/<config>.py work_dirs/<run>/unlearned.pth
    python tools/face_eval.py CONFIG CHECKPOINT --out face_metrics.json --plots face_plots/

Prints the report's table and the face metrics' own (FAR at τ, embedding TARs, Grad-CAM mass against the
original's, accuracy and TAR on corrupted faces). The original model and the retrain oracle are included when
they exist (your checkpoints or the cache); nothing is trained. ``--out`` writes every row's metrics as JSON,
``--plots`` the Grad-CAM grid and the verification ROC; an existing ``--out`` file or a non-empty ``--plots``
folder is refused before anything is evaluated (results are never overwritten).
"""
import os
import sys
from pathlib import Path
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, refuse_overwrites, run_cli  # noqa: E402

from torch import nn  # noqa: E402

from unlearn.apis import Experiment, evaluate_checkpoint, load_experiment  # noqa: E402
from unlearn.apis.references import TITLES, ReferenceModels  # noqa: E402
from unlearn.checkpoint import load_weights, save_json  # noqa: E402
from unlearn.errors import UnlearnError  # noqa: E402
from unlearn.precision import applied  # noqa: E402
from unlearn.reports import markdown_table  # noqa: E402

#: The face metrics beyond the report's columns (all of them are in --out).
FACE_COLUMNS = dict(far_at_tau='FAR at τ', emb_tar_f='emb TAR_f ↓', emb_tar_r='emb TAR_r ↑',
                    cam_ratio_f='CAM_f / Original ↓', robust_acc_ft='corrupted Acc_ft ↓',
                    robust_acc_rt='corrupted Acc_rt ↑', robust_tar_f='corrupted TAR_f ↓',
                    robust_tar_r='corrupted TAR_r ↑')


def parse_args():
    parser = config_parser(__doc__.splitlines()[0], launcher=False,
                           config_help='a face experiment config (its task: FaceTask)')
    parser.add_argument('checkpoint', type=Path)
    parser.add_argument('--out', type=Path, help='write the metrics of all rows to this JSON file (must not exist)')
    parser.add_argument('--plots', type=Path, help='write gradcam.png and verification_roc.png into this folder '
                        '(new or empty)')
    return parser.parse_args()


def row_networks(experiment: Experiment, checkpoint: Path) -> Dict[str, nn.Module]:
    """The networks of :func:`evaluate_checkpoint`'s rows, found as it finds them: the Original and the Retrain
    that exist (your checkpoints or the cache), then the checkpoint."""
    references = ReferenceModels(experiment)
    networks = {TITLES[kind]: model.network for kind in references.kinds
                if (model := references.cached(kind)) is not None}
    networks[checkpoint.name] = load_weights(experiment.task.build_network(experiment.cfg.model), checkpoint)
    return networks


def main():
    args = parse_args()
    refuse_overwrites(args.out, args.plots)
    cfg = load_config(args.config, args.cfg_options)
    rows, columns = evaluate_checkpoint(cfg, args.checkpoint)
    if 'tau' not in rows[args.checkpoint.name]:
        raise UnlearnError(f'{args.config} is not a face config (its evaluator does not verify faces); '
                           'evaluate it with tools/test.py')
    print(markdown_table(rows, columns))
    print()
    print(markdown_table(rows, FACE_COLUMNS))
    if args.out:
        save_json(rows, args.out)
        print(f'metrics written to {args.out}')
    if args.plots:
        experiment = load_experiment(cfg)
        with applied(experiment.precision):
            experiment.evaluator.write_figures(args.plots, row_networks(experiment, args.checkpoint), rows,
                                               experiment.request)
        print(f'figures written to {args.plots}: gradcam.png, verification_roc.png')


if __name__ == '__main__':
    run_cli(main)
