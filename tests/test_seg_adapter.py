"""The segmentation adapter over mmseg: config check, splits, per-pixel mappings, metrics, one-line errors."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from conftest import REPO, run_tool
from unlearn.errors import UnlearnError

CONFIG = REPO / 'configs' / 'seg' / 'synthetic_forget_dog.py'
DOG, CAT = 12, 8


def small_config(data_root, **task) -> Config:
    """The synthetic default on a 24 + 12 image copy of the synthetic VOC."""
    cfg = Config.fromfile(str(CONFIG))
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg.merge_from_dict({f'{loader}.dataset.data_root': str(data_root),
                             f'{loader}.dataset.num_train': 24, f'{loader}.dataset.num_val': 12})
    cfg.merge_from_dict({f'task.{k}': v for k, v in task.items()})
    return cfg


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp('synthetic_voc') / 'VOC2012'


@pytest.fixture(scope='module')
def request_(data_root):
    from unlearn.apis import load_experiment
    return load_experiment(small_config(data_root))


def _labels(dataset) -> list:
    return [dataset[i]['data_samples'].gt_sem_seg.data for i in range(len(dataset))]


def test_config_takes_mmseg_keys_and_still_catches_typos(data_root):
    from unlearn.config import check_config
    cfg = small_config(data_root)
    check_config(cfg)  # train_dataloader, default_scope, crop_size, ... come from mmseg's own configs
    for typo, hint in (('forget_clases', "did you mean 'forget_classes'?"),
                       ('train_dataloder', "did you mean 'train_dataloader'?")):
        bad = small_config(data_root)
        bad.merge_from_dict({typo: 1})
        with pytest.raises(UnlearnError, match=hint):
            check_config(bad)


def test_splits_by_forget_pixels_and_the_oracle_never_sees_one(request_, data_root):
    from unlearn.apis import load_experiment
    splits, task = request_.request, request_.task
    assert request_.request.forget_classes == [DOG] and task.num_classes == 21
    # train_forget random-crops (a crop may miss the dog, depending on the RNG): check the same images uncropped
    assert splits.train_forget.indices == splits.train_forget_eval.indices
    assert all((gt == DOG).any() for gt in _labels(splits.train_forget_eval))
    assert all((gt == DOG).any() for gt in _labels(splits.test_forget))
    assert len(splits.train_forget) + len(splits.train_remain) == len(splits.original_data.train)
    assert not any((gt == DOG).any() for gt in _labels(splits.train_remain) + _labels(splits.test_remain))

    voided = load_experiment(small_config(data_root, remain_policy='void_pixels')).request
    assert len(voided.train_remain) == len(splits.original_data.train), 'void_pixels keeps every image'
    labels = _labels(voided.train_remain)
    assert not any((gt == DOG).any() for gt in labels) and any((gt == CAT).any() for gt in labels)
    with pytest.raises(UnlearnError, match='remain_policy'):
        load_experiment(small_config(data_root, remain_policy='drop_pixels'))


def test_per_pixel_logits_masks_and_losses(request_, data_root):
    from unlearn.apis import load_experiment  # noqa: F401  (the adapter is built by the fixture)
    from unlearn.losses import delete_loss
    task = request_.task
    network = task.build_network(small_config(data_root).model)
    batch = task.data_preprocessor(network)(pseudo_collate([request_.request.train_forget[i] for i in range(4)]),
                                            True)
    logits = task.logits(network, batch)
    labels, valid = task.labels(batch), task.valid_mask(batch)
    assert logits.shape == (4, 21, *labels.shape[1:]) and labels.shape[1:] == batch['inputs'].shape[2:]
    assert torch.equal(valid, labels != 255) and (~valid).any(), 'void borders are excluded'
    erase = task.erase_mask(batch, request_.request)
    assert erase.shape == (1, 21, 1, 1) and erase[0, :, 0, 0].nonzero().flatten().tolist() == [DOG]
    loss = delete_loss(logits, logits.detach() + torch.randn_like(logits), erase, valid_mask=valid)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(task.supervised_loss(network, batch))


def test_random_labels_replace_only_forget_pixels(request_):
    task, forget = request_.task, request_.request.train_forget_eval  # the test pipeline: no random crop
    relabelled = task.relabel(forget, lambda i, u: CAT if i % 2 else 3, request_.request)
    for i, (before, after) in enumerate(zip(_labels(forget), _labels(relabelled))):
        dog = before == DOG
        assert dog.any() and (after[dog] == (CAT if i % 2 else 3)).all() and torch.equal(after[~dog], before[~dog])


def test_methods_without_a_per_pixel_version_are_refused(request_):
    from tasks.segmentation.adapter import SegmentationTask
    from unlearn.capabilities import check_capabilities
    from unlearn.methods import (L2UL, SCRUB, BadTeacher, BoundaryExpand, BoundaryShrink, DELETE, Finetune,
                                 FisherForgetting, InfluenceUnlearn, NegativeGradient, RandomLabel, SalUn)
    task = request_.task
    assert isinstance(task, SegmentationTask)
    for method in (BoundaryShrink(), L2UL(), FisherForgetting(), InfluenceUnlearn()):
        with pytest.raises(UnlearnError, match=f'{type(method).__name__} needs .*, which the SegmentationTask task'):
            check_capabilities(task, method)
    network = task.build_network(request_.cfg.model)
    with pytest.raises(UnlearnError, match='needs an nn.Linear classifier .* is Conv2d'):
        BoundaryExpand().check(task, network)
    for method in (DELETE(), RandomLabel(), NegativeGradient(), Finetune(), BadTeacher(), SalUn(), SCRUB()):
        check_capabilities(task, method)
        method.check(task, network)


def test_iou_is_mmseg_iou_and_remaining_miou_ignores_forget_pixels():
    from mmseg.evaluation import IoUMetric

    from tasks.segmentation.metrics import confusion_matrix, iou_per_class, segmentation_metrics
    rng = np.random.default_rng(0)
    gt = torch.from_numpy(rng.integers(0, 4, (40, 40)))
    gt[:3] = 255
    pred = torch.where(torch.rand(40, 40) < 0.7, gt, torch.randint(0, 4, (40, 40))).clamp(max=3)
    confusion = confusion_matrix(pred, gt, 4).numpy()
    metric = IoUMetric()
    areas = metric.intersect_and_union(pred, gt, 4, 255)
    expected = IoUMetric.total_area_to_metrics(*areas)['IoU'] * 100
    np.testing.assert_allclose(iou_per_class(confusion), expected)

    names = ['background', 'cat', 'dog', 'cow']
    m = segmentation_metrics(test=confusion, train_forget=confusion, train_remain=confusion, forget_classes=[2],
                             class_names=names)
    assert m['iou_forget'] == pytest.approx(expected[2])
    assert sum(m['forget_pixels_to'].values()) == pytest.approx(100.0)
    dog_to_cat = confusion.copy()
    dog_to_cat[2, 1] += dog_to_cat[2, 2]
    dog_to_cat[2, 2] = 0
    moved = segmentation_metrics(test=dog_to_cat, train_forget=dog_to_cat, train_remain=dog_to_cat,
                                 forget_classes=[2], class_names=names, original=m)
    assert moved['iou_forget'] == 0 and moved['miou_remain'] == pytest.approx(m['miou_remain'])
    assert moved['per_class_iou']['cat'] < m['per_class_iou']['cat'], 'mmseg IoU counts them as false cats'
    assert moved['h_mean'] > 0


def test_pixels_with_non_finite_logits_have_no_prediction_and_count_as_wrong():
    from tasks.segmentation.metrics import (NO_PREDICTION, confusion_matrix, iou_per_class, predicted_pixels,
                                            segmentation_metrics, total_variation)
    logits = torch.zeros(3, 2, 3)
    logits[1, 0, :] = 1.0  # row 0 predicts class 1, row 1 class 0 ...
    logits[:, 1, 1] = float('nan')  # ... except one NaN pixel
    logits[2, 1, 2] = float('inf')  # and one infinite one
    pred = predicted_pixels(logits.argmax(0), logits)
    assert pred.tolist() == [[1, 1, 1], [0, NO_PREDICTION, NO_PREDICTION]]

    gt = torch.tensor([[1, 1, 0], [0, 0, 255]])
    confusion = confusion_matrix(pred, gt, 3).numpy()
    # rows: ground truth 0, 1, 2; columns: predicted 0, 1, 2, then no prediction (the void pixel is left out)
    np.testing.assert_array_equal(confusion, [[1, 1, 0, 1], [0, 2, 0, 0], [0, 0, 0, 0]])
    # class 0: 1 hit, union 3 (gt 3, predicted 1); class 1: 2 hits, union 3 (gt 2, predicted 3)
    np.testing.assert_allclose(iou_per_class(confusion)[:2], [100 / 3, 200 / 3])

    names = ['background', 'cat', 'dog']
    m = segmentation_metrics(test=confusion, train_forget=confusion, train_remain=confusion, forget_classes=[0],
                             class_names=names)
    assert m['acc_ft'] == pytest.approx(100 / 3), 'a NaN background pixel is not credited as background'
    assert m['forget_pixels_to'] == pytest.approx({'background': 100 / 3, 'cat': 100 / 3, 'dog': 0.0,
                                                   'no prediction': 100 / 3})
    assert m['non_finite_outputs'] == 3
    assert total_variation(m['forget_pixels_to'], {'background': 50.0, 'cat': 50.0, 'dog': 0.0}) == \
        pytest.approx(100 / 3)


def test_a_diverged_segmentation_network_is_scored_not_credited(request_, data_root):
    task, splits = request_.task, request_.request
    network = task.build_network(small_config(data_root).model)
    with torch.no_grad():
        network.decode_head.conv_seg.bias.fill_(float('nan'))
    m = request_.evaluator.evaluate(network, splits)
    assert m['acc_rt'] == 0.0 and m['acc_ft'] == 0.0 and m['acc_r'] == 0.0, 'argmax would call NaN background'
    assert m['forget_pixels_to']['no prediction'] == 100.0 and m['non_finite_outputs'] > 0
    assert 'NaN or infinite' in request_.evaluator.facts({'run': m})['Diverged']


def test_missing_data_is_one_line_saying_where(tmp_path):
    status, _, err = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs', '--cfg-options',
                              f'checkpoint_dir={tmp_path / "ckpt"}', 'train_dataloader.dataset.type=PascalVOCDataset',
                              f'train_dataloader.dataset.data_root={tmp_path / "VOCdevkit/VOC2012"}',
                              'task.data_hint=See_docs/results.md.')
    err = err.strip()
    assert status == 2 and err.startswith('error: ') and len(err.splitlines()) == 1, err
    assert str(tmp_path / 'VOCdevkit/VOC2012') in err and err.endswith('See_docs/results.md.')
    assert not (tmp_path / 'ckpt').exists()
