"""Speed of DELETE: the framework's epoch against a hand-written PyTorch loop doing the same math, per precision.

    python benchmarks/speed_delete.py                      # ResNet-20, 32 px, synthetic images, CPU
    python benchmarks/speed_delete.py --model ResNet18 --stem cifar --forget-size 1024 --epochs 3
    python benchmarks/speed_delete.py --settings fp32      # one setting only

Both loops run in this process on the same network, data, batch size and optimiser: teacher forward
(no grad) with the sample's own logit masked, student forward/backward, SGD step. The framework's epoch
is the stock mmengine Runner over ``UnlearnModel`` + ``DELETE`` (curves off), run under the precision setting
(:mod:`unlearn.precision`); the hand-written loop does the same by hand (``torch.autocast``, the networks and
inputs in channels-last). Each setting (fp32, bf16, bf16 + channels-last) prints both epochs, their ratio (target:
framework / hand <= 1.05) and the framework's speed-up over its fp32 epoch, and the share of the framework's step
spent waiting for data (mmengine's ``data_time``; target < 10%). Then what retraining and per-epoch evaluation
(the official code's habit) cost next to an unlearning run, extrapolated from measured fp32 throughput to
CIFAR-10's split sizes.
"""
import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.hooks import Hook
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import throughput, training_step  # noqa: E402
from tasks.classification.adapter import ClassificationTask  # noqa: E402
from unlearn.engine import mmengine_runner  # noqa: E402
from unlearn.methods import DELETE  # noqa: E402
from unlearn.model import UnlearnModel  # noqa: E402
from unlearn.precision import Precision, applied  # noqa: E402

TARGET_RATIO = 1.05
TARGET_DATA_SHARE = 0.10
SETTINGS = {'fp32': Precision('fp32'), 'bf16': Precision('bf16'), 'bf16+cl': Precision('bf16', channels_last=True)}


class EpochTimer(Hook):
    """Wall time of each training epoch as the Runner sees it, and the share of its steps spent waiting for data."""

    def __init__(self):
        self.times, self.data_shares = [], []

    @staticmethod
    def _history(runner, key):
        buffer = runner.message_hub.log_scalars.get(key)
        return buffer.data[0] if buffer is not None else []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()
        self._first = len(self._history(runner, 'train/time'))

    def after_train_epoch(self, runner):
        self.times.append(time.perf_counter() - self._start)
        data = self._history(runner, 'train/data_time')[self._first:]
        step = self._history(runner, 'train/time')[self._first:]
        self.data_shares.append(float(data.sum() / step.sum()))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default='CifarResNet')
    parser.add_argument('--stem', help='ResNet18 stem (imagenet|cifar)')
    parser.add_argument('--image-size', type=int, default=32)
    parser.add_argument('--forget-size', type=int, default=2048, help='forget images per epoch')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--epochs', type=int, default=4, help='timed epochs per loop (the first is warm-up)')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--settings', default=','.join(SETTINGS), help=f'comma-separated, of {list(SETTINGS)}')
    parser.add_argument('--cifar-forget', type=int, default=5000, help='|D_f| to extrapolate to (CIFAR-10)')
    parser.add_argument('--cifar-remain', type=int, default=45000, help='|D_r| to extrapolate to (CIFAR-10)')
    parser.add_argument('--retrain-epochs', type=int, default=150, help='official retrain recipe (SPEC.md §4.4)')
    parser.add_argument('--unlearn-epochs', type=int, default=20, help='official DELETE epochs (SPEC.md §1.4)')
    return parser.parse_args()


def hand_written_epochs(network, dataset, batch_size, epochs, precision=Precision(), lr=1e-4):
    """The minimal PyTorch loop: what the official ``method/delete.py`` does, nothing else, in ``precision``
    (its softmaxes in float32, as the framework's loss)."""
    student = precision.prepare(copy.deepcopy(network)).train()
    teacher = precision.prepare(copy.deepcopy(network)).eval()
    memory_format = torch.channels_last if precision.channels_last else torch.contiguous_format
    optimizer = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9)
    kl = torch.nn.KLDivLoss(reduction='batchmean')
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in loader:
            x = x.contiguous(memory_format=memory_format)
            with torch.no_grad(), precision.autocast():
                z = teacher(x).float()
                z[torch.arange(len(y)), y] = -1e10
                p = F.softmax(z, dim=1)
            with precision.autocast():
                s = student(x)
            loss = kl(F.log_softmax(s.float(), dim=1), p)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def framework_epochs(task, request, network, dataset, batch_size, epochs, precision=Precision(), lr=1e-4):
    """The framework's epochs (and each one's data-waiting share) under ``precision``."""
    model = UnlearnModel(copy.deepcopy(network), task, DELETE(), request)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp, applied(precision):
        with mmengine_runner(model=model, log_file=Path(tmp) / 'bench.log', seed=0,
                             train_dataloader=task.dataloader(dataset, batch_size, shuffle=True),
                             max_epochs=epochs, custom_hooks=[timer], log_interval=50, log_level='WARNING',
                             optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9))) as runner:
            runner.train()
    return timer.times, timer.data_shares


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    task = ClassificationTask(dataset=dict(type='SyntheticImages', num_classes=10, image_size=args.image_size,
                                           train_per_class=args.forget_size, test_per_class=1))
    model_cfg = dict(type=args.model, **(dict(stem=args.stem) if args.stem else {}))
    network = task.build_network(model_cfg)
    request = task.forget_request(Config(dict(forget_classes=[0])))
    forget = request.train_forget
    print(f'model {model_cfg}, {args.image_size} px, |D_f| = {len(forget)}, batch {args.batch_size}, '
          f'{args.threads} threads, device cpu')

    settings = args.settings.split(',')
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        sys.exit(f'--settings: unknown {unknown}; choose from {list(SETTINGS)}')
    print(f'{"setting":8} | {"hand s/epoch":>12} | {"framework s/epoch":>17} | {"ratio":>5} | {"speed-up":>8} | '
          f'{"data_time share":>15}')
    framework_fp32 = None
    for name in settings:
        precision = SETTINGS[name]
        # Interleave the two loops so drift in machine load hits both alike.
        hand, framework, shares = [], [], []
        for _ in range(2):
            hand += hand_written_epochs(network, forget, args.batch_size, args.epochs // 2 + 1, precision)[1:]
            times, data_shares = framework_epochs(task, request, network, forget, args.batch_size,
                                                  args.epochs // 2 + 1, precision)
            framework += times[1:]
            shares += data_shares[1:]
        hand_s, framework_s = statistics.median(hand), statistics.median(framework)
        framework_fp32 = framework_s if name == 'fp32' else framework_fp32
        ratio, share = framework_s / hand_s, statistics.median(shares)
        speed_up = f'{framework_fp32 / framework_s:7.2f}x' if framework_fp32 else '      -'
        print(f'{name:8} | {hand_s:12.2f} | {framework_s:17.2f} | {ratio:5.3f} | {speed_up:>8} | {share:15.1%}  '
              f'(ratio {"met" if ratio <= TARGET_RATIO else "NOT met"}, data share '
              f'{"met" if share < TARGET_DATA_SHARE else "NOT met"})')
    print(f'targets: framework / hand <= {TARGET_RATIO}; data_time < {TARGET_DATA_SHARE:.0%} of the step')
    if framework_fp32 is None:
        return
    framework_s = framework_fp32

    # What retraining and per-epoch evaluation cost next to unlearning, from measured throughput.
    x, y = next(iter(DataLoader(forget, batch_size=args.batch_size)))
    evaluated = copy.deepcopy(network).eval()

    def eval_step():
        with torch.no_grad():
            evaluated(x)

    train_rate = throughput(training_step(network, x, y), len(y))
    eval_rate = throughput(eval_step, len(y))
    delete_rate = len(forget) / framework_s
    unlearn_epoch = args.cifar_forget / delete_rate
    retrain_epoch = args.cifar_remain / train_rate
    unlearn_run = args.unlearn_epochs * unlearn_epoch
    retrain_run = args.retrain_epochs * retrain_epoch
    eval_all_splits = (args.cifar_forget + args.cifar_remain + 10000) / eval_rate
    print(f'\nextrapolated to CIFAR-10 (|D_f| = {args.cifar_forget}, |D_r| = {args.cifar_remain}, 10,000 test):')
    print(f'one DELETE epoch          : {unlearn_epoch:8.1f} s')
    print(f'one retrain epoch         : {retrain_epoch:8.1f} s  ({retrain_epoch / unlearn_epoch:.1f}x a DELETE epoch)')
    print(f'DELETE run ({args.unlearn_epochs} epochs)    : {unlearn_run:8.1f} s')
    print(f'retrain run ({args.retrain_epochs} epochs)  : {retrain_run:8.1f} s  '
          f'({retrain_run / unlearn_run:.0f}x the DELETE run)')
    print(f'evaluating all 4 splits   : {eval_all_splits:8.1f} s  (the official code does this after every '
          f'epoch: {eval_all_splits / (eval_all_splits + unlearn_epoch):.0%} of such an epoch; here it runs once '
          'at the end)')


if __name__ == '__main__':
    main()
