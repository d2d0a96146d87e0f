"""Speed of the backdoor defense: Neural Cleanse's scan through the framework against a hand-written PyTorch loop.

    python benchmarks/speed_backdoor.py                    # ResNet-20, 32 px, synthetic images, CPU
    python benchmarks/speed_backdoor.py --steps 3 --images-per-step 256 --repeats 2 --threads 1   # ~30 s
    python benchmarks/speed_backdoor.py --model ResNet18 --stem cifar --steps 2

1. The scan of one class (``tasks.backdoor.recovery.NeuralCleanse(target='given')``, called as the backdoor task
   calls it) against ``hand_scan``, the same math typed out in one function: mask and pattern through tanh, Adam
   (lr 0.1, betas (0.5, 0.9)), the trigger stamped in [0, 1] pixel space and normalised, CE to the class plus
   lambda * |m|_1, NC's lambda schedule and early stop. Same network, images, steps, images per step, batch size and
   seed: both draw the initial mask and pattern and every step's batch order from one ``torch.Generator`` in the
   same order, so they follow the same trajectory and must end at the same mask norm. Both loops run in this
   process, interleaved; the median of ``--repeats`` timed scans each (after a one-step warm-up). Target:
   framework / hand <= 1.10.
2. What recovery plus DELETE cost next to retraining the oracle, extrapolated to CIFAR-10's sizes from the
   throughput measured here (NC's scan at its batch size, a DELETE step and a training step at batch 128; compute
   only, no data loading or augmentation): scanning all classes (NC 50 steps of 1,000 images) and DELETE (20 epochs
   on the defender's stamped images) against the oracle's 6 (CPU recipe) or 150 (official) epochs.
"""
import argparse
import contextlib
import copy
import io
import math
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import throughput, timed, training_step  # noqa: E402
import tasks.classification.models  # noqa: E402,F401  (registers the classifiers)
from tasks.backdoor.recovery import NeuralCleanse  # noqa: E402
from unlearn.registry import MODELS  # noqa: E402

TARGET_RATIO = 1.10
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default='CifarResNet', help='a MODELS type (CifarResNet is ResNet-20)')
    parser.add_argument('--stem', help='ResNet18 stem (imagenet|cifar)')
    parser.add_argument('--image-size', type=int, default=32)
    parser.add_argument('--clean-images', type=int, default=2275,
                        help="the defender's clean images the scan draws from (CIFAR-10: 5%% of 45,500)")
    parser.add_argument('--target-class', type=int, default=0, help='the class scanned')
    parser.add_argument('--steps', type=int, default=5, help='NC steps per timed scan')
    parser.add_argument('--images-per-step', type=int, default=1000)
    parser.add_argument('--batch-size', type=int, default=32, help="NC's batch size (its code: 32)")
    parser.add_argument('--repeats', type=int, default=3, help='timed scans per loop (median)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='relative tolerance of the two mask norms')
    # CIFAR-10's sizes, for part 2.
    parser.add_argument('--cifar-train', type=int, default=50000, help='training images')
    parser.add_argument('--cifar-classes', type=int, default=10)
    parser.add_argument('--cifar-poison-rate', type=float, default=0.1, help='share of non-target images poisoned')
    parser.add_argument('--cifar-clean-fraction', type=float, default=0.05, help="defender's share of clean images")
    parser.add_argument('--cifar-nc-steps', type=int, default=50, help='NC steps per class (its code: 1,000)')
    parser.add_argument('--cifar-nc-images', type=int, default=1000, help='NC images per step')
    parser.add_argument('--unlearn-epochs', type=int, default=20, help='DELETE epochs (SPEC.md §1.4)')
    parser.add_argument('--retrain-epochs', type=int, nargs='+', default=[6, 150],
                        help='oracle epochs: the CPU recipe and the official one')
    return parser.parse_args(argv)


def build_network(model, stem=None, num_classes=10, device='cpu'):
    cfg = dict(type=model, num_classes=num_classes, **(dict(stem=stem) if stem else {}))
    torch.manual_seed(0)
    return MODELS.build(cfg).to(device)


def hand_scan(network, images, mean, std, target_class, steps, images_per_step, batch_size, seed=0):
    """Neural Cleanse's scan of one class in plain PyTorch: (mask [H, W], pattern [C, H, W], success, steps run).

    ``images`` ``[N, C, H, W]`` in [0, 1] on the network's device. The random draws are NC's in the framework's
    order (initial mask, initial pattern, then each step's random orders of the images), so the trajectory is
    the same as ``NeuralCleanse``'s for the same seed.
    """
    network.eval().requires_grad_(False)
    device = images.device
    count, channels, height, width = images.shape
    mean = torch.tensor(mean, dtype=images.dtype, device=device).view(1, -1, 1, 1)
    std = torch.tensor(std, dtype=images.dtype, device=device).view(1, -1, 1, 1)
    generator = torch.Generator().manual_seed(seed)
    mask_w = torch.atanh((torch.rand(height, width, generator=generator) - 0.5) * (2 - 1e-6)).to(device)
    pattern_w = torch.atanh((torch.rand(channels, height, width, generator=generator) - 0.5) * (2 - 1e-6)).to(device)
    mask_w.requires_grad_(True)
    pattern_w.requires_grad_(True)
    optimizer = torch.optim.Adam([mask_w, pattern_w], lr=0.1, betas=(0.5, 0.9))
    batch_size = min(batch_size, count)
    num_batches = math.ceil(images_per_step / batch_size)
    labels = torch.full((batch_size,), target_class, device=device)
    # NC's lambda schedule and early stop.
    cost, above, below, stale, moved_up, moved_down = 1e-3, 0, 0, 0, False, False
    best, best_norm, previous_best = None, math.inf, math.inf
    for step in range(1, steps + 1):
        orders = torch.cat([torch.randperm(count, generator=generator)
                            for _ in range(math.ceil(num_batches * batch_size / count))])
        hits = torch.zeros((), dtype=torch.long, device=device)
        for indices in orders[:num_batches * batch_size].view(num_batches, batch_size).to(device):
            mask, pattern = (torch.tanh(mask_w) + 1) / 2, (torch.tanh(pattern_w) + 1) / 2
            stamped = (1 - mask) * images[indices] + mask * pattern
            logits = network((stamped - mean) / std)
            loss = F.cross_entropy(logits, labels) + cost * mask.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            hits += (logits.argmax(1) == target_class).sum()
        success = hits.item() / (num_batches * batch_size)
        with torch.no_grad():
            mask, pattern = (torch.tanh(mask_w) + 1) / 2, (torch.tanh(pattern_w) + 1) / 2
            norm = mask.sum().item()
        if success >= 0.99 and norm < best_norm:
            best, best_norm = (mask, pattern, success), norm
        if best_norm < math.inf:
            stale = 0 if best_norm < 0.99 * previous_best else stale + 1
        previous_best = min(previous_best, best_norm)
        above, below = (above + 1, 0) if success >= 0.99 else (0, below + 1)
        if above >= 5:
            above, cost, moved_up = 0, cost * 2, True
        elif below >= 5:
            below, cost, moved_down = 0, cost / 2 ** 1.5, True
        if moved_up and moved_down and stale >= 25:
            break
    return (*(best or (mask, pattern, success)), step)


def framework_scan(network, images, mean, std, target_class, steps, images_per_step, batch_size, seed=0):
    """The framework's scan of one class, as ``BackdoorTask.recover`` calls it: ``RecoveredTriggers``."""
    recovery = NeuralCleanse(target='given', steps=steps, images_per_step=images_per_step, batch_size=batch_size,
                             seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):  # its one progress line per scan
        return recovery.recover(network, images, (mean, std), target_class)


def compare_scans(network, images, args):
    """Part 1: the wall times of both scans (``--repeats`` each, interleaved) and their last results."""
    scan_args = (network, images, CIFAR_MEAN, CIFAR_STD, args.target_class)
    warm_up = (1, min(args.images_per_step, 4 * args.batch_size), args.batch_size, args.seed)
    framework_scan(*scan_args, *warm_up)
    hand_scan(*scan_args, *warm_up)
    settings = (args.steps, args.images_per_step, args.batch_size, args.seed)
    times, results = dict(hand=[], framework=[]), {}
    scans = dict(hand=hand_scan, framework=framework_scan)
    for repeat in range(args.repeats):
        # Interleaved, and each goes first every other time, so drift in machine load hits both alike.
        for name in (('hand', 'framework') if repeat % 2 == 0 else ('framework', 'hand')):
            seconds, results[name] = timed(lambda: scans[name](*scan_args, *settings), images.device)
            times[name].append(seconds)
    return times['hand'], times['framework'], results['hand'], results['framework']


def row(label, value):
    print(f'{label:<40}: {value}')


def step_throughputs(network, image_size, num_classes, device, batch_size=128):
    """Images per second of a DELETE step (benchmarks/speed_delete.py's hand-written loop; the framework's DELETE
    epoch is within 1.10x of it there) and of a training step (CE, SGD with momentum and weight decay)."""
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(batch_size, 3, image_size, image_size, generator=generator).to(device)
    x = (x - torch.tensor(CIFAR_MEAN, device=device).view(1, -1, 1, 1)) / torch.tensor(CIFAR_STD, device=device).view(
        1, -1, 1, 1)
    y = torch.randint(0, num_classes, (batch_size,), generator=generator).to(device)
    student = copy.deepcopy(network).train().requires_grad_(True)
    teacher = copy.deepcopy(network).eval().requires_grad_(False)
    delete_optimizer = torch.optim.SGD(student.parameters(), lr=1e-4, momentum=0.9)

    def delete_step():
        with torch.no_grad():
            z = teacher(x)
            z[torch.arange(len(y)), y] = -1e10
            p = F.softmax(z, dim=1)
        loss = F.kl_div(F.log_softmax(student(x), dim=1), p, reduction='batchmean')
        delete_optimizer.zero_grad()
        loss.backward()
        delete_optimizer.step()

    return throughput(delete_step, batch_size, device), throughput(training_step(network, x, y), batch_size, device)


def cifar_sizes(args):
    """CIFAR-10's split sizes as ``poison_dataset`` draws them: ``round(poison_rate * n)`` of the ``n`` non-target
    training images poisoned; the oracle's images the others; the defender's ``round(clean_fraction * oracle)`` of
    those, of which the share outside the target is stamped; NC's step rounded up to whole batches."""
    non_target = args.cifar_train * (args.cifar_classes - 1) // args.cifar_classes
    poisoned = round(args.cifar_poison_rate * non_target)
    oracle = args.cifar_train - poisoned
    defender = round(args.cifar_clean_fraction * oracle)
    stamped = round(defender * (non_target - poisoned) / oracle)
    nc_batch = min(args.batch_size, defender)
    return dict(oracle=oracle, defender=defender, stamped=stamped,
                nc_per_step=math.ceil(args.cifar_nc_images / nc_batch) * nc_batch)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    network = build_network(args.model, args.stem, args.cifar_classes, device)
    images = torch.rand(args.clean_images, 3, args.image_size, args.image_size,
                        generator=torch.Generator().manual_seed(args.seed)).to(device)
    batch = min(args.batch_size, args.clean_images)
    per_step = math.ceil(args.images_per_step / batch) * batch
    print(f'model {args.model}{f" ({args.stem} stem)" if args.stem else ""}, {args.image_size} px synthetic images '
          f'(torch.rand, {args.clean_images} clean), class {args.target_class}, {args.steps} steps x {per_step} '
          f'images (batch {batch}), {args.repeats} repeats, {args.threads} threads, device {device}')

    # 1. The scan of one class: framework against hand-written.
    hand_times, framework_times, hand, framework = compare_scans(network, images, args)
    hand_s, framework_s = statistics.median(hand_times), statistics.median(framework_times)
    hand_norm, framework_norm = float(hand[0].double().sum()), float(framework.norms[0])
    steps_run = int(framework.steps[0])
    scanned = steps_run * per_step
    ratio = framework_s / hand_s
    print('\nmeasured: one class scanned (median wall time)')
    for label, median, times in (('hand-written NC scan', hand_s, hand_times),
                                 ('framework NC scan', framework_s, framework_times)):
        row(label, f'{median:8.2f} s  ({scanned / median:.1f} images/s; {len(times)} runs, '
            f'{min(times):.2f}-{max(times):.2f} s)')
    row('ratio framework / hand', f'{ratio:8.3f}    (target <= {TARGET_RATIO:.2f}: '
        f'{"met" if ratio <= TARGET_RATIO else "NOT met"})')
    mask_difference = float((hand[0].cpu().double() - torch.from_numpy(framework.masks[0]).double()).abs().max())
    same = math.isclose(hand_norm, framework_norm, rel_tol=args.tolerance) and hand[3] == steps_run
    row('final mask norm |m|_1', f'hand {hand_norm:.4f}, framework {framework_norm:.4f}, steps run {hand[3]} / '
        f'{steps_run}, largest pixel difference {mask_difference:.1e}: {"same" if same else "DIFFERENT"} '
        f'(relative tolerance {args.tolerance:g})')

    # 2. Recovery + DELETE against retraining the oracle, from measured throughput.
    nc_rate = scanned / framework_s
    delete_rate, train_rate = step_throughputs(network, args.image_size, args.cifar_classes, device)
    print('\nmeasured throughput (compute only: no data loading or augmentation)')
    row(f'NC scan (framework, batch {batch})', f'{nc_rate:8.1f} images/s')
    row('DELETE step (batch 128)', f'{delete_rate:8.1f} images/s')
    row('training step (batch 128)', f'{train_rate:8.1f} images/s')

    sizes = cifar_sizes(args)
    scan_all = args.cifar_classes * args.cifar_nc_steps * sizes['nc_per_step'] / nc_rate
    delete_run = args.unlearn_epochs * sizes['stamped'] / delete_rate
    print(f'\nextrapolated to CIFAR-10 from the throughput above ({args.cifar_train:,} training images, '
          f'{args.cifar_poison_rate:.0%} of the non-target ones poisoned: the oracle trains on '
          f'{sizes["oracle"]:,}; the defender holds {args.cifar_clean_fraction:.0%} of those, {sizes["defender"]:,}, '
          f'{sizes["stamped"]:,} of them outside the target, which DELETE sees stamped):')
    row(f'NC scan ({args.cifar_classes} classes x {args.cifar_nc_steps} steps x {sizes["nc_per_step"]:,})',
        f'{scan_all:8.1f} s  (at most: early stop can end a class sooner)')
    row(f'DELETE run ({args.unlearn_epochs} epochs x {sizes["stamped"]:,})', f'{delete_run:8.1f} s')
    row('recovery + DELETE', f'{scan_all + delete_run:8.1f} s  ({scan_all / (scan_all + delete_run):.0%} of it the '
        'scan)')
    for epochs in args.retrain_epochs:
        retrain = epochs * sizes['oracle'] / train_rate
        row(f'retrain the oracle ({epochs} epochs x {sizes["oracle"]:,})',
            f'{retrain:8.1f} s  ({retrain / (scan_all + delete_run):.2f}x recovery + DELETE, '
            f'{retrain / delete_run:.0f}x DELETE alone)')


if __name__ == '__main__':
    main()
