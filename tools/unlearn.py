"""Unlearn classes from a trained model with one config.

    python tools/unlearn.py configs/cls/digits_forget_3.py
    python tools/unlearn.py CONFIG --work-dir DIR --cfg-options forget_classes="['cat']" schedule.max_epochs=5
    torchrun --nproc_per_node 2 tools/unlearn.py CONFIG --launcher pytorch

Writes a new folder under the work dir: config.py, run.log, unlearned.pth, meta.json, metrics.json,
report.md and plots/curves.png. The original model and the retrain oracle are trained once and cached.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, run_cli  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402

from unlearn.apis import run_unlearning  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0])
    parser.add_argument('--work-dir', help='folder for run folders (default: the config\'s work_dir)')
    return parser.parse_args()


def main():
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))  # the legacy torch.distributed.launch
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    run_dir = run_unlearning(cfg, launcher=args.launcher)
    if is_main_process():
        print((run_dir / 'report.md').read_text())
        print(f'Everything is in {run_dir}')


if __name__ == '__main__':
    run_cli(main)
