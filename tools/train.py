"""Train the original model (or, with --retrain, the retrain oracle) of a config, once, into the cache.

    python tools/train.py configs/cls/cifar10_resnet20_cpu_forget_deer.py            # original model
    python tools/train.py configs/cls/cifar10_resnet20_cpu_forget_deer.py --retrain  # oracle without 'deer'
    python tools/train.py configs/face/synthetic_forget_id03.py --pretrain           # the pretraining stage alone

Uses the config's train_schedule (SPEC.md §4.4 by default). The checkpoint is keyed by a hash of the data,
model, recipe, seed and (for the oracle) the forget classes, so tools/unlearn.py finds and reuses it.
Prints the checkpoint path; an existing one is reused, never overwritten.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import config_parser, load_config, run_cli  # noqa: E402
from unlearn.apis import prepare_models, prepare_pretrained  # noqa: E402


def parse_args():
    parser = config_parser(__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--retrain', action='store_true', help='train the retrain oracle on the remaining data')
    which.add_argument('--pretrain', action='store_true',
                       help="run the task's pretraining stage alone (the network the original and the oracle start from)")
    parser.add_argument('--work-dir', help='folder for the checkpoint cache (default: the config\'s checkpoint_dir)')
    return parser.parse_args()


def main():
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))  # the legacy torch.distributed.launch
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir:
        cfg.checkpoint_dir = args.work_dir
    if args.pretrain:
        model = prepare_pretrained(cfg, launcher=args.launcher)
        print(f"pretrained model ({'trained' if model.trained_now else 'already there'}): {model.checkpoint}")
        return
    obtained = prepare_models(cfg, kinds=['retrain' if args.retrain else 'original'], launcher=args.launcher)
    for kind, model in obtained.items():
        state = 'trained' if model.trained_now else 'already cached'
        print(f'{kind} model ({state}): {model.checkpoint}')


if __name__ == '__main__':
    run_cli(main)
