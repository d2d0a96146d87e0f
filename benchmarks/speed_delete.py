"""Speed of DELETE: the framework's epoch against a hand-written PyTorch loop doing the same math.

    python benchmarks/speed_delete.py                      # ResNet-20, 32 px, synthetic images, CPU
    python benchmarks/speed_delete.py --model ResNet18 --stem cifar --forget-size 1024 --epochs 3

Both loops run in this process on the same network, data, batch size and optimiser: teacher forward
(no grad) with the sample's own logit masked, student forward/backward, SGD step. The framework's epoch
is the stock mmengine Runner over ``UnlearnModel`` + ``DELETE`` (curves off). Target: framework / hand
<= 1.10. It also prints what retraining and per-epoch evaluation (the official code's habit) cost next
to an unlearning run, extrapolated from measured throughput to CIFAR-10's split sizes.
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
from tasks.classification.adapter import ClassificationTask  # noqa: E402
from unlearn.engine import mmengine_runner  # noqa: E402
from unlearn.methods import DELETE  # noqa: E402
from unlearn.model import UnlearnModel  # noqa: E402

TARGET_RATIO = 1.10


class EpochTimer(Hook):
    """Wall time of each training epoch, as the Runner sees it."""

    def __init__(self):
        self.times = []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()

    def after_train_epoch(self, runner):
        self.times.append(time.perf_counter() - self._start)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default='CifarResNet')
    parser.add_argument('--stem', help='ResNet18 stem (imagenet|cifar)')
    parser.add_argument('--image-size', type=int, default=32)
    parser.add_argument('--forget-size', type=int, default=2048, help='forget images per epoch')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--epochs', type=int, default=4, help='timed epochs per loop (the first is warm-up)')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--cifar-forget', type=int, default=5000, help='|D_f| to extrapolate to (CIFAR-10)')
    parser.add_argument('--cifar-remain', type=int, default=45000, help='|D_r| to extrapolate to (CIFAR-10)')
    parser.add_argument('--retrain-epochs', type=int, default=150, help='official retrain recipe (SPEC.md §4.4)')
    parser.add_argument('--unlearn-epochs', type=int, default=20, help='official DELETE epochs (SPEC.md §1.4)')
    return parser.parse_args()


def hand_written_epochs(network, dataset, batch_size, epochs, lr=1e-4):
    """The minimal PyTorch loop: what the official ``method/delete.py`` does, nothing else."""
    student, teacher = copy.deepcopy(network).train(), copy.deepcopy(network).eval()
    optimizer = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9)
    kl = torch.nn.KLDivLoss(reduction='batchmean')
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in loader:
            with torch.no_grad():
                z = teacher(x)
                z[torch.arange(len(y)), y] = -1e10
                p = F.softmax(z, dim=1)
            loss = kl(F.log_softmax(student(x), dim=1), p)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def framework_epochs(task, request, network, dataset, batch_size, epochs, lr=1e-4):
    model = UnlearnModel(copy.deepcopy(network), task, DELETE(), request)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp:
        with mmengine_runner(model=model, log_file=Path(tmp) / 'bench.log', seed=0,
                             train_dataloader=task.dataloader(dataset, batch_size, shuffle=True),
                             max_epochs=epochs, custom_hooks=[timer], log_interval=50, log_level='WARNING',
                             optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9))) as runner:
            runner.train()
    return timer.times


def throughput(step, images_per_step, repeats=5):
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return repeats * images_per_step / (time.perf_counter() - start)


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

    # Interleave the two loops so drift in machine load hits both alike.
    hand, framework = [], []
    for _ in range(2):
        hand += hand_written_epochs(network, forget, args.batch_size, args.epochs // 2 + 1)[1:]
        framework += framework_epochs(task, request, network, forget, args.batch_size, args.epochs // 2 + 1)[1:]
    hand_s, framework_s = statistics.median(hand), statistics.median(framework)
    ratio = framework_s / hand_s
    print(f'hand-written DELETE epoch : {hand_s:7.2f} s  ({len(forget) / hand_s:7.1f} samples/s)')
    print(f'framework DELETE epoch    : {framework_s:7.2f} s  ({len(forget) / framework_s:7.1f} samples/s)')
    print(f'ratio framework / hand    : {ratio:7.3f}  (target <= {TARGET_RATIO}: '
          f'{"met" if ratio <= TARGET_RATIO else "NOT met"})')

    # What retraining and per-epoch evaluation cost next to unlearning, from measured throughput.
    x, y = next(iter(DataLoader(forget, batch_size=args.batch_size)))
    trainee = copy.deepcopy(network).train()
    optimizer = torch.optim.SGD(trainee.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

    def train_step():
        loss = F.cross_entropy(trainee(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    evaluated = copy.deepcopy(network).eval()

    def eval_step():
        with torch.no_grad():
            evaluated(x)

    train_rate = throughput(train_step, len(y))
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
