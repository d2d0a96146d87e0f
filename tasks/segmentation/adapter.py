"""Semantic segmentation as an unlearning task, over mmsegmentation as it is.

mmseg's segmentors, datasets, pipelines, data preprocessor, loss and ``IoUMetric`` are used unchanged; this
adapter only maps them onto the class dimension: per-pixel logits ``[N, K, H, W]`` at label resolution, the
forget classes' channels erased at every pixel, void (255) excluded (SPEC.md §5.3).
"""
import copy
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.dist import is_distributed
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import Tensor, nn
from torch.utils.data import Dataset

from unlearn.adapter import TaskAdapter
from unlearn.capabilities import ExportsModel, Relabelling
from unlearn.checkpoint import load_state_dict
from unlearn.errors import UnlearnError
from unlearn.registry import TASKS
from unlearn.request import ForgetRequest, ReferenceData, resolve_classes
from unlearn.tensor_task import labels_in

from .data import VOID, RelabelledForgetPixels, SegSubset, build_mmseg_dataset, class_pixel_counts, with_pipeline
from .export import write_mmseg_files

REMAIN_POLICIES = ('drop_images', 'void_pixels')


def _config(cfg) -> ConfigDict:
    """A private copy with attribute access, which mmseg's models expect (``test_cfg.mode``)."""
    return ConfigDict(copy.deepcopy(cfg))


@TASKS.register_module()
class SegmentationTask(TaskAdapter, Relabelling, ExportsModel):
    """Semantic segmentation with an mmseg ``EncoderDecoder`` and mmseg datasets.

    Per-pixel logits and labels carry every method defined on them (DELETE, Random Label, Negative Gradient,
    Finetune, Bad Teacher, SalUn, SCRUB). The task has no images in pixel space behind a normalisation of its
    own (mmseg normalises in its data preprocessor), no single label per image and a convolutional classifier,
    so the methods that need those (Boundary Shrink / Expand, L2UL, Fisher, Influence) are refused.

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
    evaluator = 'SegmentationEvaluator'
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

    def forget_request(self, cfg, original: Optional[nn.Module] = None) -> ForgetRequest:
        """Forget images: those with ``min_forget_pixels`` pixels of the forget classes; remaining data per
        ``remain_policy``, its forget pixels void either way (SPEC.md §5.3)."""
        classes = resolve_classes(self.class_names, cfg.forget_classes)
        names = [self.class_names[i] for i in classes]
        split = {}
        for name, dataset in (('train', self.train), ('val', self.val)):
            counts = class_pixel_counts(dataset, self.num_classes)
            forget = counts[:, classes].sum(1) >= self.min_forget_pixels
            if not forget.any():
                raise UnlearnError(f'no {name} image has {self.min_forget_pixels}+ pixels of {names}: the forget '
                                   f'split would be empty')
            remain = ~forget if self.remain_policy == 'drop_images' else np.ones_like(forget)
            split[name] = np.flatnonzero(forget), np.flatnonzero(remain)
        (train_f, train_r), (val_f, val_r) = split['train'], split['val']
        train_remain = SegSubset(self.train, train_r, void_classes=classes)
        test_remain = SegSubset(self.val, val_r, void_classes=classes)
        return ForgetRequest(
            forget_classes=classes, forget_names=names,
            train_forget=SegSubset(self.train, train_f),
            train_remain=train_remain,
            train_forget_eval=SegSubset(self.train_eval, train_f),
            train_remain_eval=SegSubset(self.train_eval, train_r, void_classes=classes),
            test_forget=SegSubset(self.val, val_f),
            test_remain=test_remain,
            original_data=ReferenceData(train=self.train, val=self.val),
            oracle_data=ReferenceData(train=train_remain, val=test_remain),
            is_forget=lambda batch: labels_in(self.labels(batch), classes),
            test=self.val)

    def classifier(self, network: nn.Module) -> nn.Module:
        """The decode head's 1x1 convolution to the K classes (mmseg's ``conv_seg``)."""
        return network.decode_head.conv_seg

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

    def erase_mask(self, batch: dict, request: ForgetRequest, all_forget_classes: bool = False) -> Tensor:
        """Every forget class's channel at every pixel (SPEC.md §5.3), whatever ``all_forget_classes`` says."""
        mask = torch.zeros(1, self.num_classes, 1, 1, dtype=torch.bool, device=batch['inputs'].device)
        mask[:, list(request.forget_classes)] = True
        return mask

    def valid_mask(self, batch: dict) -> Tensor:
        return self.labels(batch) != VOID

    def supervised_loss(self, network: nn.Module, batch: dict) -> Tensor:
        """mmseg's own training loss (decode head + weighted auxiliary head)."""
        loss, _ = network.parse_losses(network.loss(batch['inputs'], batch['data_samples']))
        return loss

    def relabel(self, dataset: Dataset, relabel: Callable[[int, int], int], request: ForgetRequest) -> Dataset:
        """Each forget image's forget pixels take the class ``relabel(i, u)`` (Random Label per pixel)."""
        return RelabelledForgetPixels(dataset, request.forget_classes, relabel)

    def export(self, network: nn.Module, folder, cfg) -> Dict[str, str]:
        """``mmseg_model.pth`` and ``mmseg_config.py``: mmseg's ``init_model`` and its tools/test.py load them."""
        return write_mmseg_files(folder, network, cfg, self.class_names, self.palette)
