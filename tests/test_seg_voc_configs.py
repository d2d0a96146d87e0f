"""The PASCAL VOC configs: mmseg's own configs underneath, and without the data one line saying what to get."""
import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from unlearn.config import check_config

SEG = REPO / 'configs' / 'seg'
VOC_CONFIGS = ['voc_forget_dog.py', 'voc_forget_pottedplant.py', 'voc_r18_cpu_forget_dog.py']


@pytest.mark.parametrize('name', VOC_CONFIGS)
def test_voc_configs_are_mmseg_configs_plus_a_forget_request(name):
    cfg = Config.fromfile(str(SEG / name))
    check_config(cfg)
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.decode_head.type == 'ASPPHead'
    assert cfg.model.decode_head.num_classes == 21 and cfg.model.pretrained is None, 'nothing is downloaded'
    assert cfg.train_dataloader.dataset.type == 'PascalVOCDataset'
    assert cfg.train_dataloader.dataset.ann_file == 'ImageSets/Segmentation/train.txt', 'SBD is optional'
    assert cfg.val_dataloader.dataset.ann_file == 'ImageSets/Segmentation/val.txt'
    assert cfg.forget_classes in (['dog'], ['pottedplant'])


def test_design_card_command_without_data_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the config's data/ and checkpoints/ are relative to where it runs
    status, _, err = run_tool('unlearn.py', SEG / 'voc_forget_dog.py', '--work-dir', tmp_path / 'runs')
    err = err.strip()
    assert status == 2 and err.startswith('error: ') and len(err.splitlines()) == 1, err
    assert 'data/VOCdevkit/VOC2012' in err and 'VOCtrainval_11-May-2012.tar' in err
    assert 'deeplabv3_r50-d8_512x512_20k_voc12aug_20200617_010906-596905ef.pth' in err and 'checkpoints/' in err
    assert not (tmp_path / 'runs').exists()
