"""The reference models of a run (the original model, the retrain oracle) and their cached metrics."""
import hashlib
import json
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Dict, Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.logging import MMLogger
from mmengine.runner import set_random_seed
from torch import nn

from ..capabilities import Pretraining
from ..checkpoint import load_weights, save_json, sha256_file
from ..config_check import check_output_folder
from ..errors import UnlearnError
from ..evaluator import Metrics
from ..request import ForgetRequest, PretrainStage
from ..training import (ObtainedModel, TrainingJob, check_reference_cache, obtain_model, reference_job, seeded_network,
                        user_model, verify_cached_model)
from .experiment import Experiment

TITLES = dict(original='Original', retrain='Retrain')  # their rows in reports and tables


class ReferenceModels:
    """The reference models ``kinds`` of an experiment, and the pretrained network they start from if its task
    has a pretraining stage (:class:`unlearn.capabilities.Pretraining`).

    Built before anything is trained: the user's checkpoints are loaded (and so checked) here, once, the cached
    entries that exist are verified, and the original's network exists, freshly initialised if it is still to be
    obtained, so a method can check it. :meth:`obtain` then takes each other model from the cache, or trains it
    into the cache.
    """

    def __init__(self, experiment: Experiment, kinds: Optional[Sequence[str]] = None):
        self.experiment = experiment
        self.kinds = tuple(experiment.reference_kinds if kinds is None else kinds)
        missing = [kind for kind in self.kinds if kind not in experiment.reference_kinds]
        if missing:
            raise UnlearnError(f'this config has no {missing[0]} model: retrain = None, or the task has no oracle')
        cfg, task = experiment.cfg, experiment.task
        self.stage: Optional[PretrainStage] = task.pretrain_stage(cfg) if isinstance(task, Pretraining) else None
        self.pretrained = self._user_pretrained()
        self.pretrained_sha = self.pretrained.sha256 if self.pretrained else self._cached_pretrained_sha()
        check_reference_cache(cfg, task, experiment.request, self.kinds, self.pretrained_sha)
        self.obtained: Dict[str, ObtainedModel] = {}
        for kind in self.kinds:
            model = user_model(kind, cfg, task)
            if model is not None:
                self.obtained[kind] = model
        self._fresh: Dict[str, nn.Module] = {}
        if 'original' in self.kinds and 'original' not in self.obtained:
            self._fresh['original'] = seeded_network(cfg, task)

    @property
    def original_network(self) -> nn.Module:
        """The original model's network: the user's weights, or the one that will be loaded or trained."""
        model = self.obtained.get('original')
        return model.network if model else self._fresh['original']

    def to_train(self) -> list:
        """The kinds neither the user nor the cache provides: obtaining them trains them into the cache (and
        the pretraining stage first, if it is not cached either)."""
        pretrain_pending = self.stage is not None and self.pretrained_sha is None
        missing = [kind for kind in self.kinds if kind not in self.obtained
                   and (pretrain_pending or not self.job(kind).path.is_file())]
        return (['pretrain'] if missing and pretrain_pending else []) + missing

    def cached(self, kind: str) -> Optional[ObtainedModel]:
        """The ``kind`` model if the user or the cache has it, loaded; never trains (None: it does not exist)."""
        if kind in self.obtained:
            return self.obtained[kind]
        path = self.job(kind).path
        if (self.stage is not None and self.pretrained_sha is None) or not path.is_file():
            return None
        network = load_weights(self.experiment.task.build_network(self.experiment.cfg.model), path)
        return ObtainedModel(network, path, sha256_file(path), trained_now=False)

    def check_cache_folder(self) -> None:
        """The cache folder is writable if a model will be trained into it (before anything is trained)."""
        if self.to_train():
            check_output_folder(self.experiment.cfg.checkpoint_dir, 'checkpoint_dir')

    def obtain(self, logger: MMLogger, launcher: str = 'none') -> Dict[str, ObtainedModel]:
        """Every reference model, in order: the user's, the cached one, or trained now (from the pretrained
        network's backbone, when the task has a pretraining stage)."""
        experiment = self.experiment
        for kind in self.kinds:
            if kind in self.obtained:
                continue
            started = time.time()
            prepare = None
            if self.stage is not None:
                pretrained = self.obtain_pretrained(logger, launcher).network
                prepare = partial(load_backbone, experiment.task, pretrained)
            network = self._fresh.pop(kind, None) or seeded_network(experiment.cfg, experiment.task)
            self.obtained[kind] = obtain_model(self.job(kind), network, experiment.task, experiment.evaluator,
                                               logger, launcher, prepare=prepare)
            self.obtained[kind].wall_time_s = time.time() - started
        return {kind: self.obtained[kind] for kind in self.kinds}

    def obtain_pretrained(self, logger: MMLogger, launcher: str = 'none') -> ObtainedModel:
        """The pretrained network: the user's file, the cached one, or the stage trained now into the cache."""
        if self.stage is None:
            raise UnlearnError(f'the {type(self.experiment.task).__name__} task has no pretraining stage')
        if self.pretrained is None:
            set_random_seed(self.stage.schedule['seed'])
            self.pretrained = obtain_model(self._pretrain_job(), self.stage.build_network(), self.experiment.task,
                                           self.experiment.evaluator, logger, launcher)
            self.pretrained_sha = self.pretrained.sha256
        return self.pretrained

    def job(self, kind: str) -> TrainingJob:
        """The cache entry of the ``kind`` model (keyed by the pretrained network's file, if any)."""
        experiment = self.experiment
        job = reference_job(kind, experiment.cfg, experiment.task, experiment.request, self.pretrained_sha)
        if self.pretrained is not None:  # its training is charged to the models finetuned from it
            job = replace(job, record=dict(job.record, pretrained_checkpoint=str(self.pretrained.checkpoint)))
        return job

    def _pretrain_job(self) -> TrainingJob:
        """The stage's cache entry: ``pretrain-<model>-<hash of its data, model and recipe>.pth``."""
        model_cfg = dict(self.experiment.cfg.model)
        precision = self.experiment.precision.key()
        spec = json.dumps(dict(kind='pretrain', data=self.stage.fingerprint, model=model_cfg,
                               recipe=self.stage.schedule, **precision), sort_keys=True, default=str)
        key = hashlib.sha256(spec.encode()).hexdigest()[:16]
        path = Path(self.experiment.cfg.checkpoint_dir) / f'pretrain-{model_cfg["type"]}-{key}.pth'
        record = dict(kind='pretrain', key=key, model=model_cfg, data=self.stage.fingerprint,
                      recipe=self.stage.schedule, **precision)
        return TrainingJob('pretrain', path, self.stage.data, self.stage.schedule, record,
                           'on the pretraining classes')

    def _user_pretrained(self) -> Optional[ObtainedModel]:
        """The user's pretrained file, loaded (and so checked) once."""
        if self.stage is None or not self.stage.checkpoint:
            return None
        network = self.stage.build_network()
        try:
            self.stage.load_checkpoint(network, self.stage.checkpoint)
        except UnlearnError as e:
            raise UnlearnError(f'pretrained_checkpoint: {e}') from e
        return ObtainedModel(network, Path(self.stage.checkpoint), sha256_file(self.stage.checkpoint),
                             trained_now=False)

    def _cached_pretrained_sha(self) -> Optional[str]:
        """The cached pretrained file's SHA-256, verified against its record; None if it is not cached yet."""
        if self.stage is None:
            return None
        path = self._pretrain_job().path
        return verify_cached_model(path) if path.is_file() else None


def load_backbone(task, source: nn.Module, target: nn.Module) -> None:
    """Every weight of ``source`` but its classifier (the task's ``classifier``, whatever its name) into ``target``,
    whose own classifier stays as initialised (fresh, and as wide as ``target``'s classes)."""
    source_head, target_head = _name_of(source, task.classifier(source)), _name_of(target, task.classifier(target))
    state = {k: v for k, v in source.state_dict().items() if not k.startswith(f'{source_head}.')}
    result = target.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(f'{target_head}.')]
    if missing or result.unexpected_keys:
        raise UnlearnError(f'the pretrained network does not fit the model: {len(missing)} missing keys '
                           f'{missing[:1]}, {len(result.unexpected_keys)} unexpected {result.unexpected_keys[:1]}')


def _name_of(network: nn.Module, module: nn.Module) -> str:
    return next(name for name, m in network.named_modules() if m is module)


def cached_metrics(experiment: Experiment, model: ObtainedModel, request: ForgetRequest,
                   original: Optional[Metrics] = None) -> Metrics:
    """Metrics of a fixed checkpoint on a forget request are computed once and kept beside it."""
    built_from = request.fingerprint()
    key = hashlib.sha256(json.dumps(dict(
        ckpt=model.sha256, forget=list(request.forget_classes), data=experiment.task.fingerprint(),
        **({'request': built_from} if built_from else {}), **experiment.precision.key(),
        eval=repr(experiment.evaluator.fingerprint()), original=original),
        sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = Path(model.checkpoint).with_name(f'{Path(model.checkpoint).stem}.metrics-{key}.json')
    if path.is_file():
        return json.loads(path.read_text())
    metrics = experiment.evaluator.evaluate(model.network, request, original=original)
    if is_main_process() and os.access(path.parent, os.W_OK):
        save_json(metrics, path)
    return metrics


def reference_rows(experiment: Experiment, models: Dict[str, ObtainedModel],
                   request: ForgetRequest) -> Dict[str, Metrics]:
    """``{'Original': metrics, 'Retrain': metrics}`` of the models there are (the oracle's H-Mean needs the
    original's metrics)."""
    rows = {}
    for kind, model in models.items():
        rows[TITLES[kind]] = cached_metrics(experiment, model, request, original=rows.get('Original'))
    return rows
