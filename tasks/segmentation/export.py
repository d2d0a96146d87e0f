"""The unlearned segmentor as mmseg's own files: ``mmseg.apis.init_model(config, checkpoint)`` and mmseg's
``tools/test.py`` load them unchanged.

A run's ``unlearned.pth`` is a bare state_dict and its ``config.py`` mixes this project's keys with mmseg's;
mmseg needs a checkpoint with ``meta.dataset_meta`` and a config of its keys only. The exported config is the
run config with:

* this project's keys (:data:`OUR_KEYS`) removed and ``default_scope='mmseg'``;
* ``model.pretrained=None`` and no ``init_cfg`` of type ``Pretrained``: the weights are in the checkpoint, and
  loading them never downloads anything;
* the training keys only if mmengine's ``Runner`` can build its training loop from them (``train_dataloader``,
  ``train_cfg`` and ``optim_wrapper`` all present; a run config has only the first, and the Runner refuses
  one without the others): the original model's recipe is ``train_schedule``, which mmseg does not read;
* ``val_cfg`` / ``test_cfg`` loops, and ``test_dataloader`` / ``test_evaluator`` / ``test_pipeline`` taken from
  the val ones where absent, as the Runner and ``inference_model`` need them;
* ``custom_imports`` only for modules that register a dataset type the config uses and that is not mmseg's or
  mmengine's own (e.g. ``tasks.segmentation.synthetic`` for ``SyntheticVOCDataset``): without them mmseg cannot
  build the data. Such a module must be importable where mmseg runs (this repository on ``PYTHONPATH``).
  Other custom types (transforms, models) are not looked for: the segmentation task builds mmseg's own.
"""
import copy
from pathlib import Path
from typing import Dict, Sequence

import mmengine
import mmseg
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS
from torch import nn

from unlearn.checkpoint import PathLike, atomic_write, save_text, sha256_file
from unlearn.config import KNOWN_KEYS
from unlearn.errors import UnlearnError

#: Top-level keys of a run config that are this project's, not mmseg's.
OUR_KEYS = tuple(key for key in KNOWN_KEYS if key != 'model')  # mmseg's model is the run's
#: mmengine's Runner builds a training loop from all of these or from none.
TRAINING_KEYS = ('train_dataloader', 'train_cfg', 'optim_wrapper')
MODEL_FILE = 'mmseg_model.pth'
CONFIG_FILE = 'mmseg_config.py'
_OWN_PACKAGES = ('mmseg.', 'mmengine.')


def save_mmseg_checkpoint(network: nn.Module, path: PathLike, class_names: Sequence[str],
                          palette: Sequence[Sequence[int]]) -> str:
    """Write ``network``'s weights as an mmengine checkpoint, atomically; return its SHA-256.

    ``meta.dataset_meta`` is what ``init_model`` reads the class names and colours from (without it, it
    guesses a dataset by the number of classes). Everything in the file loads with ``weights_only=True``,
    as mmengine's ``torch.load`` does on current torch: palette entries become plain ints.
    """
    if len(palette) != len(class_names):
        raise UnlearnError(f'{len(class_names)} class names but {len(palette)} palette colours')
    num_classes = getattr(network, 'num_classes', len(class_names))
    if num_classes != len(class_names):
        raise UnlearnError(f'the segmentor predicts {num_classes} classes but {len(class_names)} class names given')
    checkpoint = dict(
        state_dict={k: v.detach().cpu() for k, v in network.state_dict().items()},
        meta=dict(dataset_meta=dict(classes=tuple(class_names), palette=[[int(c) for c in rgb] for rgb in palette]),
                  mmengine_version=mmengine.__version__, mmseg_version=mmseg.__version__))
    path = Path(path)
    atomic_write(path, lambda f: torch.save(checkpoint, f))
    return sha256_file(path)


def mmseg_model_config(cfg: Config) -> Config:
    """The run config ``cfg`` as a pure mmseg config (see the module docstring for what changes and why)."""
    pure = {key: value for key, value in copy.deepcopy(cfg.to_dict()).items() if key not in OUR_KEYS}
    pure['default_scope'] = 'mmseg'
    pure['model'] = _without_pretrained(dict(pure['model'], pretrained=None))
    if not all(key in pure for key in TRAINING_KEYS):
        for key in (*TRAINING_KEYS, 'param_scheduler'):  # the Runner refuses a param_scheduler without optimiser
            pure.pop(key, None)
    if 'val_dataloader' in pure:
        pure.setdefault('val_evaluator', dict(type='IoUMetric', iou_metrics=['mIoU']))
        pure.setdefault('val_cfg', dict(type='ValLoop'))
        pure.setdefault('test_dataloader', pure['val_dataloader'])
        pure.setdefault('test_evaluator', pure['val_evaluator'])
    if 'test_dataloader' not in pure:
        raise UnlearnError('the config has neither a test_dataloader nor a val_dataloader to test the model on')
    pure.setdefault('test_cfg', dict(type='TestLoop'))
    pure.setdefault('test_pipeline', _pipeline(pure['test_dataloader']['dataset']))
    imports = _dataset_modules(pure)
    if imports:
        pure['custom_imports'] = dict(imports=imports, allow_failed_imports=False)
    return Config(pure)


def _pipeline(dataset_cfg: dict) -> list:
    """A dataset's pipeline: a wrapper's (Concat / Repeat dataset) is that of the (first) dataset it wraps."""
    if 'pipeline' in dataset_cfg:
        return dataset_cfg['pipeline']
    inner = dataset_cfg.get('dataset') or (dataset_cfg.get('datasets') or [None])[0]
    if inner is None:
        raise UnlearnError(f"test dataset {dataset_cfg.get('type')} has no pipeline: set test_pipeline in the config")
    return _pipeline(inner)


def _without_pretrained(node):
    """``node`` without the ``init_cfg`` entries that would load (and maybe download) pretrained weights."""
    if isinstance(node, list):
        return [_without_pretrained(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _without_pretrained(value) for key, value in node.items()
            if not (key == 'init_cfg' and _loads_pretrained(value))}


def _loads_pretrained(init_cfg) -> bool:
    return any(isinstance(c, dict) and c.get('type') == 'Pretrained'
               for c in (init_cfg if isinstance(init_cfg, list) else [init_cfg]))


def _dataset_modules(pure: dict) -> list:
    """Modules registering the config's dataset types that mmseg and mmengine do not have themselves."""
    modules = []
    loaders = [pure[key] for key in ('train_dataloader', 'val_dataloader', 'test_dataloader') if key in pure]
    with DefaultScope.overwrite_default_scope('mmseg'):
        for name in (n for loader in loaders for n in _dataset_types(loader.get('dataset'))):
            cls = DATASETS.get(name)
            if cls is None:
                raise UnlearnError(f'dataset type {name} is not registered in mmseg: import the module defining it')
            if not cls.__module__.startswith(_OWN_PACKAGES) and cls.__module__ not in modules:
                modules.append(cls.__module__)
    return modules


def _dataset_types(dataset_cfg) -> list:
    """The ``type`` names of a dataset config and of the datasets it wraps (Concat / Repeat datasets)."""
    if isinstance(dataset_cfg, list):
        return [name for item in dataset_cfg for name in _dataset_types(item)]
    if not isinstance(dataset_cfg, dict):
        return []
    names = [dataset_cfg['type']] if isinstance(dataset_cfg.get('type'), str) else []
    return names + _dataset_types(dataset_cfg.get('dataset')) + _dataset_types(dataset_cfg.get('datasets'))


def write_mmseg_files(folder: PathLike, network: nn.Module, cfg: Config, class_names: Sequence[str],
                      palette: Sequence[Sequence[int]]) -> Dict[str, str]:
    """Write ``folder/mmseg_model.pth`` and ``folder/mmseg_config.py``; return each file name's SHA-256.

    Neither file may exist yet: an export never replaces another run's model.
    """
    folder = Path(folder)
    existing = [name for name in (MODEL_FILE, CONFIG_FILE) if (folder / name).exists()]
    if existing:
        raise UnlearnError(f'{folder / existing[0]} already exists: exports never overwrite; choose another folder')
    config_text = mmseg_model_config(cfg).pretty_text  # before writing anything: a bad config leaves no file
    model_sha = save_mmseg_checkpoint(network, folder / MODEL_FILE, class_names, palette)
    save_text(config_text, folder / CONFIG_FILE)
    return {MODEL_FILE: model_sha, CONFIG_FILE: sha256_file(folder / CONFIG_FILE)}
