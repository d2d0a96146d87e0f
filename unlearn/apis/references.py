"""The reference models of a run (the original model, the retrain oracle) and their cached metrics."""
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.logging import MMLogger
from torch import nn

from ..checkpoint import save_json
from ..config_check import check_output_folder
from ..errors import UnlearnError
from ..evaluator import Metrics
from ..request import ForgetRequest
from ..training import ObtainedModel, cached_model_path, obtain_model, seeded_network, user_model
from .experiment import Experiment

TITLES = dict(original='Original', retrain='Retrain')  # their rows in reports and tables


class ReferenceModels:
    """The reference models ``kinds`` of an experiment.

    Built before anything is trained: the user's checkpoints are loaded (and so checked) here, once, and the
    original's network exists, freshly initialised if it is still to be obtained, so a method can check it.
    :meth:`obtain` then takes each other model from the cache, or trains it into the cache.
    """

    def __init__(self, experiment: Experiment, kinds: Optional[Sequence[str]] = None):
        self.experiment = experiment
        self.kinds = tuple(kinds or experiment.reference_kinds)
        missing = [kind for kind in self.kinds if kind not in experiment.reference_kinds]
        if missing:
            raise UnlearnError(f'this config has no {missing[0]} model: retrain = None, or the task has no oracle')
        cfg, task = experiment.cfg, experiment.task
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
        """The kinds neither the user nor the cache provides: obtaining them trains them into the cache."""
        experiment = self.experiment
        return [kind for kind in self.kinds if kind not in self.obtained and not cached_model_path(
            kind, experiment.cfg, experiment.task, experiment.request).is_file()]

    def check_cache_folder(self) -> None:
        """The cache folder is writable if a model will be trained into it (before anything is trained)."""
        if self.to_train():
            check_output_folder(self.experiment.cfg.checkpoint_dir, 'checkpoint_dir')

    def obtain(self, logger: MMLogger, launcher: str = 'none') -> Dict[str, ObtainedModel]:
        """Every reference model, in order: the user's, the cached one, or trained now."""
        experiment = self.experiment
        for kind in self.kinds:
            if kind in self.obtained:
                continue
            started = time.time()
            network = self._fresh.pop(kind, None) or seeded_network(experiment.cfg, experiment.task)
            self.obtained[kind] = obtain_model(kind, experiment.cfg, experiment.task, experiment.evaluator,
                                               experiment.request, network, logger, launcher)
            self.obtained[kind].wall_time_s = time.time() - started
        return {kind: self.obtained[kind] for kind in self.kinds}


def cached_metrics(experiment: Experiment, model: ObtainedModel, request: ForgetRequest,
                   original: Optional[Metrics] = None) -> Metrics:
    """Metrics of a fixed checkpoint on a forget request are computed once and kept beside it."""
    key = hashlib.sha256(json.dumps(dict(
        ckpt=model.sha256, forget=list(request.forget_classes), data=experiment.task.fingerprint(),
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
