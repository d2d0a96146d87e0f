"""End to end on the segmentation default: the real CLI on the synthetic VOC and issue #4's outcome."""
import json

import pytest

from conftest import REPO, run_tool

CONFIG = REPO / 'configs' / 'seg' / 'synthetic_forget_dog.py'


@pytest.fixture(scope='module')
def seg_run(tmp_path_factory):
    """One run of ``tools/unlearn.py configs/seg/synthetic_forget_dog.py``: data, original and oracle from scratch."""
    root = tmp_path_factory.mktemp('seg')
    status, stdout, stderr = run_tool('unlearn.py', CONFIG, '--work-dir', root / 'runs', *_options(root))
    assert status == 0, stderr
    (run_dir,) = list((root / 'runs').iterdir())
    return run_dir, stdout


def _options(root, *more) -> list:
    return ['--cfg-options', f'checkpoint_dir={root / "ckpt"}', f'train_dataloader.dataset.data_root={root / "voc"}',
            f'val_dataloader.dataset.data_root={root / "voc"}', *more]


def test_delete_forgets_dog_and_keeps_the_rest(seg_run):
    run_dir, stdout = seg_run
    m = json.loads((run_dir / 'metrics.json').read_text())
    original, oracle = m['original'], m['retrain']
    assert original['iou_forget'] >= 50, 'the original model must segment dogs before unlearning'
    assert m['iou_forget'] <= 0.05 * original['iou_forget']
    assert abs(m['miou_remain'] - original['miou_remain']) <= 3.0
    assert m['acc_ft'] <= 5.0 and m['acc_f'] <= 5.0
    assert oracle['iou_forget'] == 0.0 and oracle['acc_f'] == 0.0, 'the oracle never saw a dog pixel'
    assert m['h_mean'] > 0.9 * oracle['h_mean']
    assert '| DELETE |' in stdout and 'IoU_f' in stdout


def test_run_folder_holds_the_segmentation_metrics(seg_run):
    run_dir, _ = seg_run
    for name in ('config.py', 'run.log', 'unlearned.pth', 'meta.json', 'metrics.json', 'report.md',
                 'plots/curves.png', 'plots/overlays.png', 'plots/forget_pixels.png'):
        assert (run_dir / name).is_file(), name
    m = json.loads((run_dir / 'metrics.json').read_text())
    for row in (m, m['original'], m['retrain']):
        assert {'iou_forget', 'miou_remain', 'miou', 'acc_f', 'acc_ft', 'acc_r', 'acc_rt', 'forget_pixels_to',
                'forget_to_background', 'per_class_iou', 'redistribution_gap'} <= set(row)
        assert sum(row['forget_pixels_to'].values()) == pytest.approx(100.0)
        assert row['per_class_iou']['aeroplane'] is None, 'a class in no image and never predicted has no IoU'
    assert m['retrain']['redistribution_gap'] == 0.0 and m['redistribution_gap'] < m['original']['redistribution_gap']
    meta = json.loads((run_dir / 'meta.json').read_text())
    assert meta['forget_classes'] == dict(indices=[12], names=['dog']) and 'mmseg' in meta['versions']
    report = (run_dir / 'report.md').read_text()
    assert 'forget pixels go to' in report and 'MIA' not in report


def test_the_unlearned_segmentor_loads_in_mmseg_unchanged(seg_run):
    """What an mmseg user does with the run folder: mmseg's own init_model on the files the run wrote."""
    import torch
    from mmengine.registry import DefaultScope
    from mmseg.apis import init_model

    run_dir, _ = seg_run
    saved = DefaultScope._instance_dict.copy()  # init_model leaves mmseg's default scope behind
    try:
        model = init_model(str(run_dir / 'mmseg_config.py'), str(run_dir / 'mmseg_model.pth'), device='cpu')
    finally:
        DefaultScope._instance_dict = saved
    unlearned = torch.load(run_dir / 'unlearned.pth', weights_only=True)
    assert all(torch.equal(v, unlearned[k]) for k, v in model.state_dict().items())
    assert model.dataset_meta['classes'][12] == 'dog'
    meta = json.loads((run_dir / 'meta.json').read_text())
    assert {'mmseg_model.pth', 'mmseg_config.py'} <= set(meta['checkpoints'])


@pytest.mark.parametrize('method', ['RandomLabel', 'SCRUB'])
def test_logit_baselines_run_per_pixel(seg_run, tmp_path, method):
    """Random Label relabels forget pixels; SCRUB also reads the remaining images (cached models, 2 epochs)."""
    config = tmp_path / 'config.py'
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\nmethod = dict(_delete_=True, type={method!r})\n")
    root = seg_run[0].parent.parent
    status, stdout, stderr = run_tool('unlearn.py', config, '--work-dir', tmp_path / 'runs', *_options(
        root, 'schedule.max_epochs=2', 'schedule.curve_interval=0'))
    assert status == 0, stderr
    m = json.loads(next((tmp_path / 'runs').iterdir()).joinpath('metrics.json').read_text())
    assert m['acc_ft'] < m['original']['acc_ft']


def test_methods_without_a_per_pixel_version_stop_in_one_line(seg_run, tmp_path):
    config = tmp_path / 'config.py'
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\nmethod = dict(_delete_=True, type='BoundaryShrink')\n")
    status, _, err = run_tool('unlearn.py', config, '--work-dir', tmp_path / 'runs',
                              *_options(seg_run[0].parent.parent))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert 'BoundaryShrink needs images in pixel space' in err and 'SegmentationTask' in err
    assert not (tmp_path / 'runs').exists()


def test_delete_in_bf16_reaches_the_same_outcome(tmp_path):
    """mmseg's segmentor through the same precision path (original, oracle, unlearning, evaluation in bf16): the
    bars of the fp32 run above. Measured here: IoU_f 63.91 -> 0.00, mIoU_r 84.62 -> 84.39, H-Mean 72.74 (oracle
    72.59)."""
    status, _, stderr = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs',
                                 *_options(tmp_path, 'precision=bf16'))
    assert status == 0, stderr
    [run_dir] = (tmp_path / 'runs').iterdir()
    m = json.loads((run_dir / 'metrics.json').read_text())
    original, oracle = m['original'], m['retrain']
    assert original['iou_forget'] >= 50 and oracle['iou_forget'] == 0.0
    assert m['iou_forget'] <= 0.05 * original['iou_forget']
    assert abs(m['miou_remain'] - original['miou_remain']) <= 3.0
    assert m['h_mean'] > 0.9 * oracle['h_mean']
    assert json.loads((run_dir / 'meta.json').read_text())['precision'] == 'bf16'
