"""Speed of a segmentation DELETE step against mmseg's own training step, same model, same batches.

    python benchmarks/speed_seg.py                           # the CPU DeepLabV3 config on the synthetic VOC
    python benchmarks/speed_seg.py --steps 5 --precision bf16

Both are one ``train_step`` of mmengine's ``BaseModel`` (what the stock Runner's loop calls each iteration) with an
SGD ``OptimWrapper``, on the same freshly initialised segmentor (``configs/seg/voc_r18_cpu_forget_dog.py``: mmseg's
DeepLabV3, half-width ResNet-18, 96 px crops) and the same batches of forget images:

- mmseg: the segmentor itself: backbone, decode and auxiliary heads, their cross-entropy losses, backward, step.
- DELETE: ``UnlearnModel`` over the same segmentor: the frozen teacher's forward (inference, no auxiliary head),
  the student's backbone and decode head, the per-pixel masked KL (``unlearn.losses.delete_loss``), backward, step.

The teacher's forward is the work DELETE adds; the auxiliary head is the work it does not do. It prints the median
seconds per step of each (interleaved, after a warm-up) and their ratio, target <= 1.10, and the teacher's forward
timed alone: what the DELETE step costs beyond mmseg's and the teacher's is the framework's own. Data comes from
``--cfg-options`` as for any run: by default the synthetic VOC (written on first use), so it runs without VOC.
"""
import argparse
import copy
import os
import statistics
import sys
import time

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools._common import load_config  # noqa: E402
from unlearn.apis import load_experiment  # noqa: E402
from unlearn.methods import DELETE  # noqa: E402
from unlearn.model import UnlearnModel  # noqa: E402
from unlearn.precision import applied, optim_wrapper_for, resolve  # noqa: E402

TARGET_RATIO = 1.10
SYNTHETIC = 'data/synthetic_voc/VOCdevkit/VOC2012'
SYNTHETIC_DATA = [f'{loader}.dataset.{key}={value}' for loader in ('train_dataloader', 'val_dataloader')
                  for key, value in (('type', 'SyntheticVOCDataset'), ('data_root', SYNTHETIC))]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default='configs/seg/voc_r18_cpu_forget_dog.py')
    parser.add_argument('--cfg-options', nargs='+', default=SYNTHETIC_DATA, help='as tools/unlearn.py\'s '
                        '(default: the synthetic VOC)')
    parser.add_argument('--steps', type=int, default=10, help='timed steps of each (median)')
    parser.add_argument('--batch-size', type=int, help="default: the config's schedule.batch_size")
    parser.add_argument('--precision', default='fp32', help="both steps' precision: 'fp32', 'bf16' or 'auto'")
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    return parser.parse_args()


def step_seconds(model, batches, optim_wrapper_cfg) -> list:
    """Seconds of each ``model.train_step`` over ``batches`` (the first one a warm-up, not returned)."""
    wrapper = build_optim_wrapper(model, copy.deepcopy(optim_wrapper_cfg))
    model.train()
    times = []
    for batch in batches:
        started = time.perf_counter()
        model.train_step(batch, wrapper)
        times.append(time.perf_counter() - started)
    return times[1:]


def teacher_seconds(delete: UnlearnModel, batches, precision) -> list:
    """Seconds of the frozen teacher's forward alone, as the DELETE step runs it (first batch a warm-up)."""
    times = []
    for batch in batches:
        data = delete.data_preprocessor(batch, True)
        started = time.perf_counter()
        with precision.autocast():
            delete.teacher_logits(data)
        times.append(time.perf_counter() - started)
    return times[1:]


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    options = dict(option.split('=', 1) for option in args.cfg_options)
    cfg = load_config(args.config, options)
    experiment = load_experiment(cfg)
    task, request = experiment.task, experiment.request
    batch_size = args.batch_size or cfg.schedule['batch_size']
    loader = Runner.build_dataloader(task.dataloader(request.train_forget, batch_size, shuffle=True), seed=0)
    batches, iterator = [], iter(loader)
    while len(batches) < args.steps + 1:
        try:
            batches.append(next(iterator))
        except StopIteration:
            iterator = iter(loader)
    precision = resolve(dict(precision=args.precision))
    optim_cfg = optim_wrapper_for(dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)), precision)
    torch.manual_seed(0)
    network = task.build_network(cfg.model)
    print(f'{args.config}: {type(network).__name__}, batch {batch_size}, {args.steps} steps each, '
          f'{args.threads} threads, {precision.name}')
    mmseg_s, delete_s, teacher_s = [], [], []
    with applied(precision):
        for _ in range(2):  # interleaved, so drift in machine load hits all alike
            mmseg_s += step_seconds(copy.deepcopy(network), batches, optim_cfg)
            delete = UnlearnModel(copy.deepcopy(network), task, DELETE(), request)
            delete_s += step_seconds(delete, batches, optim_cfg)
            teacher_s += teacher_seconds(delete, batches, precision)
    mmseg_step, delete_step, teacher = (statistics.median(s) for s in (mmseg_s, delete_s, teacher_s))
    ratio = delete_step / mmseg_step
    print(f'mmseg training step : {mmseg_step:6.3f} s')
    print(f'DELETE step         : {delete_step:6.3f} s')
    print(f'ratio DELETE / mmseg: {ratio:6.3f}  (target <= {TARGET_RATIO}: '
          f'{"met" if ratio <= TARGET_RATIO else "NOT met"})')
    floor = (mmseg_step + teacher) / mmseg_step
    print(f'teacher forward     : {teacher:6.3f} s  ({100 * teacher / mmseg_step:.0f}% of the mmseg step; '
          f'mmseg step + teacher forward = {mmseg_step + teacher:.3f} s, ratio {floor:.3f})')


if __name__ == '__main__':
    main()
