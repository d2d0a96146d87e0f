"""Real PASCAL VOC 2012 (../shared/data, 676 images): the segmentation pipeline and the design card's command.

Slow: runs mmseg's DeepLabV3 on CPU on a few real images. Run with ``make test-slow``; skipped when
../shared/data is absent (a user's machine does not have it).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

import tasks.segmentation  # noqa: F401,I100  (installs the mmcv-lite shim before mmseg is imported)
from mmseg.datasets import PascalVOCDataset  # noqa: E402
from PIL import Image

from conftest import REPO, SHARED_DATA, run_tool

pytestmark = pytest.mark.slow
SEG = REPO / 'configs' / 'seg'
DOG = 12


@pytest.fixture(scope='module')
def voc(tmp_path_factory) -> Path:
    """The 676 real images in the VOC layout."""
    if not (SHARED_DATA / 'voc2012_seg_676.tar').is_file():
        pytest.skip('../shared/data/voc2012_seg_676.tar is absent')
    out = tmp_path_factory.mktemp('prepared')
    subprocess.run([sys.executable, str(SHARED_DATA.parent / 'tools' / 'prepare_data.py'), str(out), 'voc'],
                   check=True, capture_output=True)
    return out / 'voc2012_seg_676' / 'VOCdevkit' / 'VOC2012'


def voc_subset(voc: Path, root: Path, sizes: dict) -> Path:
    """``root`` laid out as VOC 2012 with, per split, the first ``(dogs, others)`` images with / without a dog."""
    (root / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    for folder in ('JPEGImages', 'SegmentationClass'):
        (root / folder).symlink_to(voc / folder)
    for split, (dogs, others) in sizes.items():
        ids = (voc / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()
        has_dog = {i: bool((np.asarray(Image.open(voc / 'SegmentationClass' / f'{i}.png')) == DOG).any()) for i in ids}
        chosen = [i for i in ids if has_dog[i]][:dogs] + [i for i in ids if not has_dog[i]][:others]
        (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text('\n'.join(chosen) + '\n')
    return root


def test_cpu_variant_on_real_voc(voc, tmp_path):
    """The CPU config end to end on 24 + 16 real images, with a few epochs: every output is written."""
    root = voc_subset(voc, tmp_path / 'VOC2012', dict(train=(8, 16), val=(6, 10)))
    status, _, err = run_tool(
        'unlearn.py', SEG / 'voc_r18_cpu_forget_dog.py', '--work-dir', tmp_path / 'runs', '--cfg-options',
        f'checkpoint_dir={tmp_path / "ckpt"}', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}', 'train_schedule.max_epochs=3', 'schedule.max_epochs=3')
    assert status == 0, err
    (run_dir,) = list((tmp_path / 'runs').iterdir())
    m = json.loads((run_dir / 'metrics.json').read_text())
    assert m['retrain']['acc_f'] == 0.0, 'the oracle never saw a dog pixel'
    assert len(m['per_class_iou']) == 21 and m['forget_pixels_to'].keys() == m['per_class_iou'].keys()
    for name in ('plots/overlays.png', 'plots/forget_pixels.png', 'report.md'):
        assert (run_dir / name).is_file(), name


def test_design_card_command_with_voc_and_an_mmseg_checkpoint(voc, tmp_path, monkeypatch):
    """``tools/unlearn.py configs/seg/voc_forget_dog.py`` where VOC is in data/ and mmseg's checkpoint in
    checkpoints/ (both trained here on four images, and the oracle cached), cut to one unlearning epoch."""
    monkeypatch.chdir(tmp_path)
    voc_subset(voc, tmp_path / 'data' / 'VOCdevkit' / 'VOC2012', dict(train=(2, 2), val=(1, 1)))
    config = SEG / 'voc_forget_dog.py'
    cfg = Config.fromfile(str(config))
    short = ['train_schedule.max_epochs=1', 'original_checkpoint=None', 'checkpoint_dir=scratch']
    trained = {}
    for kind in ('original', 'retrain'):
        status, out, err = run_tool('train.py', config, *(['--retrain'] if kind == 'retrain' else []),
                                    '--cfg-options', *short)
        assert status == 0, err
        trained[kind] = Path(out.strip().splitlines()[-1].split(': ', 1)[1])
    # mmseg's model zoo format: the weights under 'state_dict', beside a 'meta' dict.
    Path(cfg.original_checkpoint).parent.mkdir(parents=True)
    torch.save(dict(meta=dict(CLASSES=PascalVOCDataset.METAINFO['classes']),
                    state_dict=torch.load(trained['original'], weights_only=True)), cfg.original_checkpoint)
    from unlearn.apis import load_experiment
    from unlearn.training import RETRAIN, cached_model_path
    request = load_experiment(cfg)
    oracle = cached_model_path(RETRAIN, cfg, request.task, request.request)
    oracle.parent.mkdir(parents=True)
    shutil.copy(trained['retrain'], oracle)  # the cache keeps a model only with its record (SHA-256 checked)
    shutil.copy(trained['retrain'].with_suffix('.json'), oracle.with_suffix('.json'))

    status, out, err = run_tool('unlearn.py', config, '--cfg-options', 'schedule.max_epochs=1')
    assert status == 0, err
    (run_dir,) = list(Path(cfg.work_dir).iterdir())
    meta = json.loads((run_dir / 'meta.json').read_text())
    assert meta['checkpoints']['original']['path'] == cfg.original_checkpoint
    assert not meta['checkpoints']['retrain']['trained_in_this_run']
    assert '| DELETE |' in out and (run_dir / 'plots' / 'overlays.png').is_file()
