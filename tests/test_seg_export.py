"""Exported models load in their own frameworks unchanged: mmseg's init_model / inference_model / Runner test loop
for segmentation, torchvision's resnet18 for the classification ResNet18."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from conftest import REPO
from unlearn.errors import UnlearnError

CONFIG = REPO / 'configs' / 'seg' / 'synthetic_forget_dog.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def run_config(data_root) -> Config:
    """The synthetic default on a 24 + 12 image copy of the synthetic VOC, as a run folder's config.py holds it."""
    cfg = Config.fromfile(str(CONFIG))
    for loader in LOADERS:
        cfg.merge_from_dict({f'{loader}.dataset.data_root': str(data_root),
                             f'{loader}.dataset.num_train': 24, f'{loader}.dataset.num_val': 12})
    return cfg


@pytest.fixture(autouse=True, scope='module')
def restore_default_scope():
    """mmseg's ``init_model`` and Runner leave 'mmseg' as mmengine's default scope for the rest of the process,
    in which this project's registries would not be searched: later tests get the scope they had."""
    saved = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict = saved


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The tiny FCN with perturbed weights and BN statistics (so defaults cannot pass for loaded weights), exported."""
    import tasks.segmentation  # noqa: F401  (the mmcv shim, before any mmseg import)
    from mmseg.registry import DATASETS, MODELS

    from tasks.segmentation.export import write_mmseg_files
    root = tmp_path_factory.mktemp('seg_export')
    cfg = run_config(root / 'voc')
    with DefaultScope.overwrite_default_scope('mmseg'):
        network = MODELS.build(cfg.model)
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
    network.init_weights()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in network.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
                if name.endswith('running_var'):
                    tensor.abs_()
    network.eval()
    classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
    hashes = write_mmseg_files(root / 'export', network, cfg, classes, palette)
    return root, cfg, network, dataset, hashes


def test_mmseg_init_model_loads_the_weights_and_class_names(exported):
    from mmseg.apis import init_model
    root, _, network, dataset, _ = exported
    model = init_model(str(root / 'export' / 'mmseg_config.py'), str(root / 'export' / 'mmseg_model.pth'), device='cpu')
    loaded, own = model.state_dict(), network.state_dict()
    assert loaded.keys() == own.keys()
    assert all(torch.equal(loaded[k], own[k]) for k in own)
    assert model.dataset_meta['classes'] == dataset.metainfo['classes']
    assert model.dataset_meta['palette'] == [list(c) for c in dataset.metainfo['palette']]


def test_mmseg_inference_predicts_what_our_network_predicts(exported):
    from mmseg.apis import inference_model, init_model
    root, _, network, dataset, _ = exported
    model = init_model(str(root / 'export' / 'mmseg_config.py'), str(root / 'export' / 'mmseg_model.pth'), device='cpu')
    sample = dataset[0]
    with torch.no_grad():
        batch = network.data_preprocessor(pseudo_collate([sample]), False)
        ours = network.predict(batch['inputs'], batch['data_samples'])[0]
    theirs = inference_model(model, sample['data_samples'].img_path)
    assert theirs.pred_sem_seg.data.shape == ours.pred_sem_seg.data.shape
    assert torch.equal(theirs.pred_sem_seg.data, ours.pred_sem_seg.data)
    assert torch.allclose(theirs.seg_logits.data, ours.seg_logits.data, atol=1e-5)


def test_mmseg_runner_tests_the_exported_model(exported):
    """What mmseg's tools/test.py does: the config, its work_dir and load_from, Runner.from_cfg, test()."""
    from mmengine.runner import Runner
    root, _, network, _, _ = exported
    cfg = Config.fromfile(str(root / 'export' / 'mmseg_config.py'))
    cfg.work_dir = str(root / 'mmseg_test')
    cfg.load_from = str(root / 'export' / 'mmseg_model.pth')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert 0.0 <= metrics['mIoU'] <= 100.0
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in network.state_dict().items())


def test_exported_config_is_mmseg_only(exported):
    from tasks.segmentation.export import OUR_KEYS
    root, cfg, _, _, _ = exported
    pure = Config.fromfile(str(root / 'export' / 'mmseg_config.py'), import_custom_modules=False)
    assert {'task', 'method', 'schedule', 'forget_classes'} <= set(cfg.keys())
    assert not set(OUR_KEYS) & (set(pure.keys()) - {'custom_imports'})
    assert pure.default_scope == 'mmseg' and pure.model.pretrained is None
    assert pure.custom_imports.imports == ['tasks.segmentation.synthetic'], 'SyntheticVOCDataset is ours'
    assert 'train_dataloader' not in pure, 'no train_cfg / optim_wrapper: the Runner would refuse it'
    assert pure.test_dataloader == cfg.test_dataloader and pure.test_cfg == dict(type='TestLoop')


def test_config_keeps_no_download_and_imports_nothing_for_mmseg_datasets(exported):
    """mmseg's own (wrapped) datasets need no import; a test split missing from the run config is the val one."""
    from tasks.segmentation.export import mmseg_model_config
    _, cfg, _, _, _ = exported
    voc = copy.deepcopy(cfg)
    for key in ('test_dataloader', 'test_evaluator', 'test_pipeline'):
        voc.pop(key)
    for loader in ('train_dataloader', 'val_dataloader'):
        voc[loader].dataset = dict(type='ConcatDataset', datasets=[dict(voc[loader].dataset, type='PascalVOCDataset')])
    voc.model.pretrained = 'open-mmlab://resnet18_v1c'
    voc.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='https://example.org/r18.pth')
    voc.model.decode_head.init_cfg = dict(type='Normal', std=0.01)
    pure = mmseg_model_config(voc)
    assert 'custom_imports' not in pure
    assert pure.test_dataloader == pure.val_dataloader and pure.test_evaluator == pure.val_evaluator
    assert pure.test_pipeline == cfg.val_dataloader.dataset.pipeline
    assert pure.model.pretrained is None and 'init_cfg' not in pure.model.backbone
    assert pure.model.decode_head.init_cfg == dict(type='Normal', std=0.01), 'no download: kept'
    assert 'init_cfg' in voc.model.backbone, 'the run config is left as it was'


def test_checkpoint_reads_back_with_our_loader_and_is_never_overwritten(exported):
    from tasks.segmentation.export import write_mmseg_files
    from unlearn.checkpoint import load_state_dict, sha256_file
    root, cfg, network, dataset, hashes = exported
    state = load_state_dict(root / 'export' / 'mmseg_model.pth')
    assert list(state) == list(network.state_dict())
    assert all(torch.equal(state[k], v) for k, v in network.state_dict().items())
    assert hashes == {name: sha256_file(root / 'export' / name) for name in ('mmseg_model.pth', 'mmseg_config.py')}
    with pytest.raises(UnlearnError, match='already exists'):
        write_mmseg_files(root / 'export', network, cfg, dataset.metainfo['classes'], dataset.metainfo['palette'])
    assert hashes['mmseg_model.pth'] == sha256_file(root / 'export' / 'mmseg_model.pth')


def test_class_names_must_match_the_segmentor(exported, tmp_path):
    from tasks.segmentation.export import save_mmseg_checkpoint
    _, _, network, dataset, _ = exported
    classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
    with pytest.raises(UnlearnError, match='predicts 21 classes but 20 class names'):
        save_mmseg_checkpoint(network, tmp_path / 'm.pth', classes[:-1], palette[:-1])
    with pytest.raises(UnlearnError, match='21 class names but 20 palette colours'):
        save_mmseg_checkpoint(network, tmp_path / 'm.pth', classes, palette[:-1])
    assert not list(tmp_path.iterdir())
