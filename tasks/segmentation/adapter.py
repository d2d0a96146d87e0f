"""Semantic segmentation as an unlearning task, over mmsegmentation as it is.

mmseg's segmentors, datasets, pipelines, data preprocessor, loss and ``IoUMetric`` are used unchanged; this
adapter only maps them onto the class dimension: per-pixel logits ``[N, K, H, W]`` at label resolution, the
forget classes' channels erased at every pixel, void (255) excluded (SPEC.md §5.3).
"""
import copy
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_distributed
from mmengine.evaluator import Evaluator
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmseg.evaluation import IoUMetric
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import Dataset

from unlearn.adapter import Splits, TaskAdapter
from unlearn.checkpoint import load_state_dict
from unlearn.errors import UnlearnError
from unlearn.evaluation import seeded_loader
from unlearn.progress import progress
from unlearn.registry import TASKS
from unlearn.reports import diverged_fact

from .data import (VOID, RelabelledForgetPixels, SegSubset, build_mmseg_dataset, class_pixel_counts,
                   with_pipeline)
from .metrics import (confusion_matrix, pixel_accuracy, predicted_pixels, segmentation_metrics,
                      total_variation)
from .visualization import overlay_figure, redistribution_figure

REMAIN_POLICIES = ('drop_images', 'void_pixels')
#: The methods defined on per-pixel logits and labels (issue #4); the others (Boundary Shrink / Expand,
#: L2UL, Fisher, Influence) act on whole-image inputs or a classifier layer and have no per-pixel version.
PIXEL_METHODS = ('DELETE', 'RandomLabel', 'NegativeGradient', 'Finetune', 'BadTeacher', 'SalUn', 'SCRUB')


def _config(cfg) -> ConfigDict:
    """A private copy with attribute access, which mmseg's models expect (``test_cfg.mode``)."""
    return ConfigDict(copy.deepcopy(cfg))


@TASKS.register_module()
class SegmentationTask(TaskAdapter):
    """Semantic segmentation with an mmseg ``EncoderDecoder`` and mmseg datasets.

    The data come from the config's mmseg keys, so an mmseg config is used as it is: ``train_dataloader``
    (training images, training pipeline) and ``val_dataloader`` (the test-side images and pipeline).

    Args:
        train_dataloader, val_dataloader: mmseg's dataloader configs (their ``dataset`` and batch size).
        min_forget_pixels: an image belongs to the forget split if it has at least this many pixels of the
            forget classes; every other image is a remain image (fewer forget pixels are made void there).
        remain_policy: what the remaining data D_r (the retrain oracle's and remain-data methods' training
            set) is. ``'drop_images'``: the images without the forget classes, as in the paper ("due to the
            absence of dog training samples"). ``'void_pixels'``: every image, forget pixels relabelled void.
        data_hint: said when the data cannot be read, e.g. where to download it and where to put it.
        num_workers: dataloader workers (0 = in the main process).
    """
    config_keys = dict(train_dataloader="mmseg's training data (dataset with the training pipeline)",
                       val_dataloader="mmseg's validation data (the test-side splits and metrics)")

    def __init__(self, train_dataloader: dict, val_dataloader: dict, min_forget_pixels: int = 1,
                 remain_policy: str = 'drop_images', data_hint: str = '', num_workers: int = 0):
        if remain_policy not in REMAIN_POLICIES:
            raise UnlearnError(f'task.remain_policy={remain_policy!r}: choose one of {REMAIN_POLICIES}')
        if min_forget_pixels < 1:
            raise UnlearnError(f'task.min_forget_pixels must be >= 1, got {min_forget_pixels}')
        self.train_cfg = _config(train_dataloader['dataset'])
        self.val_cfg = _config(val_dataloader['dataset'])
        self.eval_batch_size = val_dataloader.get('batch_size', 1)
        self.min_forget_pixels = min_forget_pixels
        self.remain_policy = remain_policy
        self.num_workers = num_workers
        self.train = self._build_dataset(self.train_cfg, data_hint)
        self.val = self._build_dataset(self.val_cfg, data_hint)
        if 'pipeline' not in self.val_cfg:
            raise UnlearnError('val_dataloader.dataset must have a pipeline (the test pipeline)')
        self.train_eval = self._build_dataset(with_pipeline(self.train_cfg, self.val_cfg['pipeline']), data_hint)
        self.class_names = list(self.train.metainfo['classes'])
        self.palette = [list(c) for c in self.train.metainfo.get('palette', [])]
        self.forget_classes: List[int] = []

    @staticmethod
    def _build_dataset(cfg: dict, data_hint: str):
        try:
            return build_mmseg_dataset(cfg)
        except (AssertionError, FileNotFoundError, NotADirectoryError) as e:
            where = cfg.get('data_root') or cfg.get('datasets', [{}])[0].get('data_root', '?')
            detail = str(e).splitlines()[0] if str(e) else 'missing images, labels or split list'
            raise UnlearnError(f"cannot read the {cfg.get('type')} data at {where} ({detail}). "
                               f'{data_hint}'.strip()) from e

    def fingerprint(self) -> Dict[str, Any]:
        return dict(task='segmentation', train=self.train_cfg, val=self.val_cfg,
                    min_forget_pixels=self.min_forget_pixels, remain_policy=self.remain_policy)

    def evaluation_fingerprint(self) -> Dict[str, Any]:
        return dict()

    def build_network(self, model_cfg: dict) -> nn.Module:
        """The mmseg segmentor, with mmseg's weight init; ``pretrained`` is a local file, never a download."""
        cfg = _config(model_cfg)
        pretrained = cfg.pop('pretrained', None)
        heads = [cfg.get('decode_head')] + ([cfg['auxiliary_head']] if cfg.get('auxiliary_head') else [])
        for head in (h for hs in heads for h in (hs if isinstance(hs, list) else [hs])):
            if head.get('num_classes') != self.num_classes:
                raise UnlearnError(f"model head {head.get('type')} has num_classes={head.get('num_classes')} but "
                                   f'the dataset has {self.num_classes} classes; set it to {self.num_classes}')
        try:
            with DefaultScope.overwrite_default_scope('mmseg'):
                network = MODELS.build(cfg)
        except (KeyError, TypeError, ValueError) as e:
            raise UnlearnError(f"model {cfg.get('type')}: {str(e).splitlines()[0]}") from e
        if not is_distributed():
            network = revert_sync_batchnorm(network)  # SyncBN needs a process group; plain BN is the same
        network.init_weights()
        if pretrained:
            self._load_backbone(network, pretrained)
        return network

    @staticmethod
    def _load_backbone(network: nn.Module, path: str) -> None:
        if '://' in str(path):
            raise UnlearnError(f'model.pretrained={path!r} would be downloaded, and runs never download: fetch '
                               'the file yourself and set model.pretrained to its local path (or None)')
        state = load_state_dict(path)
        if all(k.startswith('backbone.') for k in state):
            state = {k[len('backbone.'):]: v for k, v in state.items()}
        result = network.backbone.load_state_dict(state, strict=False)
        if len(result.missing_keys) == len(network.backbone.state_dict()):
            raise UnlearnError(f'model.pretrained={path}: none of its weights fit the backbone '
                               f'{type(network.backbone).__name__}')

    def build_splits(self, forget_classes: Sequence[int]) -> Splits:
        self.forget_classes = list(forget_classes)
        names = self.forget_class_names(forget_classes)
        split = {}
        for name, dataset in (('train', self.train), ('val', self.val)):
            counts = class_pixel_counts(dataset, self.num_classes)
            forget = counts[:, self.forget_classes].sum(1) >= self.min_forget_pixels
            if not forget.any():
                raise UnlearnError(f'no {name} image has {self.min_forget_pixels}+ pixels of {names}: the forget '
                                   f'split would be empty')
            remain = ~forget if self.remain_policy == 'drop_images' else np.ones_like(forget)
            split[name] = np.flatnonzero(forget), np.flatnonzero(remain)
        (train_f, train_r), (val_f, val_r) = split['train'], split['val']
        hidden = self.forget_classes
        return Splits(
            train=self.train,
            train_forget=SegSubset(self.train, train_f),
            train_remain=SegSubset(self.train, train_r, void_classes=hidden),
            train_forget_eval=SegSubset(self.train_eval, train_f),
            train_remain_eval=SegSubset(self.train_eval, train_r, void_classes=hidden),
            test=self.val,
            test_forget=SegSubset(self.val, val_f),
            test_remain=SegSubset(self.val, val_r, void_classes=hidden))

    def data_preprocessor(self, network: nn.Module) -> nn.Module:
        """mmseg's ``SegDataPreProcessor`` of the segmentor: normalise, pad images and labels alike."""
        return network.data_preprocessor

    def dataloader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> dict:
        """Evaluation loaders (``shuffle=False``) use ``val_dataloader``'s batch size: mmseg's test mode
        cannot batch images of different sizes. Training drops a last batch of a single image, on which
        mmseg's batch-norm layers (e.g. the ASPP image pooling) cannot train; shuffled, it is another image
        each epoch."""
        return dict(dataset=dataset, batch_size=batch_size if shuffle else self.eval_batch_size,
                    num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                    sampler=dict(type='DefaultSampler', shuffle=shuffle),
                    drop_last=shuffle and len(dataset) % batch_size == 1,
                    collate_fn=dict(type='pseudo_collate'))

    # --- per (preprocessed) batch: dict(inputs=[N, 3, H, W], data_samples=[SegDataSample]) ----------------
    def logits(self, network: nn.Module, batch: dict) -> Tensor:
        """The decode head's logits, upsampled to the label resolution as mmseg's loss does."""
        inputs = batch['inputs']
        seg_logits = network.decode_head(network.extract_feat(inputs))
        return resize(seg_logits, size=inputs.shape[2:], mode='bilinear', align_corners=network.align_corners)

    def labels(self, batch: dict) -> Tensor:
        """``[N, H, W]`` class ids, 255 on void and padding (see :meth:`valid_mask`)."""
        return torch.stack([s.gt_sem_seg.data[0] for s in batch['data_samples']]).long()

    def erase_mask(self, batch: dict, forget_classes: Sequence[int], all_forget_classes: bool = False) -> Tensor:
        """Every forget class's channel at every pixel (SPEC.md §5.3), whatever ``all_forget_classes`` says."""
        mask = torch.zeros(1, self.num_classes, 1, 1, dtype=torch.bool, device=batch['inputs'].device)
        mask[:, list(forget_classes)] = True
        return mask

    def valid_mask(self, batch: dict) -> Tensor:
        return self.labels(batch) != VOID

    def supervised_loss(self, network: nn.Module, batch: dict) -> Tensor:
        """mmseg's own training loss (decode head + weighted auxiliary head)."""
        loss, _ = network.parse_losses(network.loss(batch['inputs'], batch['data_samples']))
        return loss

    def predict_for_metric(self, network: nn.Module, batch: dict) -> list:
        return network.predict(batch['inputs'], batch['data_samples'])

    def selection_metric(self) -> tuple:
        return Evaluator([IoUMetric(iou_metrics=['mIoU'])]), 'mIoU'

    def check_method(self, method) -> None:
        name = type(method).__name__
        if name not in PIXEL_METHODS:
            raise UnlearnError(f'{name} has no per-pixel version, so it cannot unlearn a segmentation class; '
                               f'choose one of {list(PIXEL_METHODS)}')

    def relabel(self, dataset: Dataset, relabel: Callable[[int, int], int]) -> Dataset:
        """Each forget image's forget pixels take the class ``relabel(i, u)`` (Random Label per pixel)."""
        return RelabelledForgetPixels(dataset, self.forget_classes, relabel)

    # --- evaluation ------------------------------------------------------------------------------------
    @torch.no_grad()
    def confusion(self, network: nn.Module, dataset: Dataset, split: str, desc: str = '') -> np.ndarray:
        """``[K, K + 1]`` pixel counts (rows: ground truth, columns: prediction, then no prediction) of mmseg's
        ``predict``, at each image's original resolution, void excluded. mmseg's test pipelines draw nothing
        random; the ``split``'s seed (:meth:`evaluation_seed`) keeps a random one, if configured, reproducible."""
        was_training = network.training
        network.eval()
        total = torch.zeros(self.num_classes, self.num_classes + 1, dtype=torch.long)
        with seeded_loader(dataset, self.evaluation_seed(split), batch_size=self.eval_batch_size,
                           num_workers=self.num_workers, collate_fn=pseudo_collate) as loader, \
                progress(desc, len(dataset)) as update:
            for batch in loader:
                data = network.data_preprocessor(batch, False)
                for sample in network.predict(data['inputs'], data['data_samples']):
                    pred = predicted_pixels(sample.pred_sem_seg.data[0], sample.seg_logits.data)
                    total += confusion_matrix(pred, sample.gt_sem_seg.data[0], self.num_classes).cpu()
                update(len(batch['inputs']))
        network.train(was_training)
        return total.numpy()

    def accuracy(self, network: nn.Module, dataset: Dataset, split: str) -> float:
        """For the unlearning curves: accuracy on the forget classes' pixels if the images have any, else on
        all pixels (so a forget sample's curve falls when the class is forgotten)."""
        confusion = self.confusion(network, dataset, split)
        forget_pixels = confusion[self.forget_classes].sum() if self.forget_classes else 0
        return pixel_accuracy(confusion, self.forget_classes if forget_pixels else range(self.num_classes))

    def evaluate(self, network: nn.Module, splits: Splits,
                 original: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """IoU per class, forget-class IoU, remaining mIoU, forget-pixel accuracy on train and val, and
        where the forget pixels go (SPEC.md §5.3)."""
        return segmentation_metrics(
            test=self.confusion(network, splits.test, 'test', desc='val'),
            train_forget=self.confusion(network, splits.train_forget_eval, 'train_forget_eval', desc='D_f'),
            train_remain=self.confusion(network, splits.train_remain_eval, 'train_remain_eval', desc='D_r'),
            forget_classes=self.forget_classes, class_names=self.class_names, original=original)

    def compare_to_retrain(self, metrics: Dict[str, Any], retrain: Dict[str, Any]) -> Dict[str, Any]:
        """``redistribution_gap``: total variation (percent) between where a model's forget pixels go and
        where the oracle's go; the paper's point is that DELETE's go where the retrained model's do."""
        return dict(redistribution_gap=total_variation(metrics['forget_pixels_to'], retrain['forget_pixels_to']))

    @torch.no_grad()
    def write_figures(self, folder: Path, networks: Dict[str, nn.Module], metrics: Dict[str, Dict[str, Any]],
                      splits: Splits, num_images: int = 4) -> None:
        """``overlays.png``: the val images with the most forget pixels, every model's prediction side by side
        (the paper's Fig. 6); ``forget_pixels.png``: where each model's forget pixels go. Both dicts are keyed
        by the models' names in the report."""
        items = [splits.test_forget[i] for i in range(len(splits.test_forget))]
        forget = torch.tensor(self.forget_classes)
        items = sorted(items, key=lambda it: -int(torch.isin(it['data_samples'].gt_sem_seg.data, forget).sum()))
        samples = []
        for item in items[:num_images]:
            predictions = {}
            for name, network in networks.items():
                was_training = network.training
                network.eval()
                data = network.data_preprocessor(pseudo_collate([item]), False)
                predictions[name] = network.predict(data['inputs'], data['data_samples'])[0].pred_sem_seg.data[0]
                network.train(was_training)
            image = np.asarray(Image.open(item['data_samples'].img_path).convert('RGB'))
            samples.append((image, item['data_samples'].gt_sem_seg.data[0].numpy(),
                            {k: v.cpu().numpy() for k, v in predictions.items()}))
        names = ', '.join(self.forget_class_names(self.forget_classes))
        overlay_figure(folder / 'overlays.png', samples, self.palette, self.class_names,
                       f'Forgetting {names}: val images with the most {names} pixels')
        redistribution_figure(folder / 'forget_pixels.png', {k: m['forget_pixels_to'] for k, m in metrics.items()},
                              f'Where the val {names} pixels go')

    def report_columns(self) -> List[str]:
        return ['iou_forget', 'miou_remain', 'acc_f', 'acc_ft', 'h_mean', 'forget_to_background',
                'redistribution_gap']

    def report_facts(self, rows: Dict[str, Dict[str, Any]]) -> Dict[str, str]:
        metrics = list(rows.values())[-1]
        facts = {}
        if metrics.get('non_finite_outputs'):
            facts['Diverged'] = diverged_fact(metrics['non_finite_outputs'], 'pixels')
        facts['IoU_f / mIoU_r'] = ('forget-class IoU on all val pixels; remaining-class mIoU on the val pixels '
                                   'of remaining classes (metrics.json: per_class_iou, miou over all pixels)')
        facts['Acc_f / Acc_ft'] = 'forget-pixel accuracy on training / val images, test pipeline'
        facts['forget pixels go to'] = ', '.join(f'{k} {v:.1f}%' for k, v in sorted(
            metrics['forget_pixels_to'].items(), key=lambda kv: -kv[1]) if v >= 0.5)
        facts['gap to Retrain'] = "total variation between where its forget pixels go and where the oracle's go"
        facts['figures'] = 'plots/overlays.png (predictions side by side), plots/forget_pixels.png'
        return facts
