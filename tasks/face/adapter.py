"""Face recognition as an unlearning task: an identity is a class (SPEC.md §5.1).

The classification machinery is reused as it is (logits, erase mask, relabelling, pixel space, metrics); what a
face task adds is a pretraining stage on other identities, whose backbone the original model and the retrain
oracle both start from (the official oracle pretrains again on the same disjoint identities, SPEC.md §7.16), and
an evaluator that also verifies faces and looks at Grad-CAM.
"""
import copy
import difflib
from typing import Any, Dict, Optional

from torch import nn

from tasks.classification.adapter import ClassificationTask
from tasks.classification.datasets import ClassificationData
from unlearn.capabilities import Pretraining
from unlearn.checkpoint import load_state_dict, load_weights
from unlearn.config import build_from
from unlearn.config_check import TRAIN_SCHEDULE_KEYS, check_schedule
from unlearn.errors import UnlearnError
from unlearn.registry import DATASETS, MODELS, TASKS
from unlearn.request import ForgetRequest, PretrainStage, ReferenceData

from .gradcam import last_conv_stage
from .models import load_facenet_weights


@TASKS.register_module()
class FaceTask(ClassificationTask, Pretraining):
    """Face identification with a pretraining stage.

    Args:
        dataset: a ``DATASETS`` config building a :class:`tasks.face.datasets.FaceData` (``FaceIdentities``,
            ``SyntheticFaces``): the finetuned identities and the disjoint pretraining ones.
        pretrain_schedule: the pretraining stage's recipe (top-level config key; a ``train_schedule``-like dict).
        pretrained_checkpoint: a pretrained network of your own (top-level config key): our pretraining file,
            or facenet-pytorch's ``20180402-114759-vggface2.pt``; None: pretrain once on the pretraining
            identities and cache it.
        eval_batch_size, num_workers, eval_train_augmented, mia_seed: as :class:`ClassificationTask`.
    """
    evaluator = 'FaceEvaluator'
    config_keys = dict(pretrain_schedule="the pretraining stage's recipe (SPEC.md §5.1: SGD lr 0.01, StepLR 40)",
                       pretrained_checkpoint='your own pretrained network (None: pretrain once and cache)')

    def __init__(self, dataset: dict, pretrain_schedule: Optional[dict] = None,
                 pretrained_checkpoint: Optional[str] = None, eval_batch_size: int = 256, num_workers: int = 0,
                 eval_train_augmented: bool = True, mia_seed: int = 0):
        super().__init__(dataset, eval_batch_size=eval_batch_size, num_workers=num_workers,
                         eval_train_augmented=eval_train_augmented, mia_seed=mia_seed)
        if pretrained_checkpoint is None and pretrain_schedule is None:
            raise UnlearnError('a face task needs pretrain_schedule (to pretrain on its pretraining identities) or '
                               'pretrained_checkpoint (your own pretrained network)')
        if pretrain_schedule is not None:
            check_schedule(pretrain_schedule, 'pretrain_schedule', TRAIN_SCHEDULE_KEYS)
        if pretrained_checkpoint is None and self.faces.pretrain is None:
            raise UnlearnError('the dataset has no pretraining identities (pretrain=None) and no '
                               'pretrained_checkpoint is set: name pretraining identities or bring the network')
        self.pretrain_schedule = dict(pretrain_schedule or {})
        self.pretrained_checkpoint = pretrained_checkpoint

    def _load_data(self, dataset: dict) -> ClassificationData:
        self.faces = build_from(DATASETS, dataset, 'dataset')
        return self.faces.finetune

    def fingerprint(self) -> Dict[str, Any]:
        return dict(task='face', dataset=self.dataset_cfg)

    def classifier(self, network: nn.Module) -> nn.Module:
        """The network's last ``nn.Linear``: the identity head, as wide as the finetuned identities, or as the
        pretraining ones in the pretraining stage's network."""
        heads = [m for m in network.modules() if isinstance(m, nn.Linear)]
        if not heads:
            raise UnlearnError(f'{type(network).__name__} has no nn.Linear identity head')
        return heads[-1]

    def gradcam_layer(self, network: nn.Module) -> nn.Module:
        """Where Grad-CAM reads the feature maps: the last convolutional stage."""
        return last_conv_stage(network)

    def forget_request(self, cfg, original: Optional[nn.Module] = None) -> ForgetRequest:
        """As classification's, after saying plainly when a pretraining identity is named: the finetuned network
        has no class for it."""
        pretrain_names = self.faces.pretrain.class_names if self.faces.pretrain else []
        names = cfg.forget_classes if isinstance(cfg.forget_classes, (list, tuple)) else [cfg.forget_classes]
        for name in names:
            if isinstance(name, str) and name not in self.class_names and name in pretrain_names:
                close = difflib.get_close_matches(name, self.class_names, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f'the finetuned identities: {self.class_names}'
                raise UnlearnError(f"identity '{name}' is a pretraining identity: the finetuned network has no class "
                                   f'for it; forget one of the finetuned identities ({hint})')
        return super().forget_request(cfg, original)

    def pretrain_stage(self, cfg) -> PretrainStage:
        """Pretraining on the pretraining identities (their own train / test split), with ``cfg.model`` as wide
        as they are; or the user's pretrained file."""
        pretrain = self.faces.pretrain
        model_cfg = dict(cfg.model, num_classes=pretrain.num_classes if pretrain else self.num_classes)
        schedule = {'seed': cfg.train_schedule.get('seed', 2022), **self.pretrain_schedule}  # its own seed wins
        data = ReferenceData(pretrain.train, pretrain.test) if pretrain else None
        return PretrainStage(data=data, schedule=schedule,
                             build_network=lambda: build_from(MODELS, copy.deepcopy(model_cfg), 'model'),
                             checkpoint=self.pretrained_checkpoint, load_checkpoint=load_pretrained,
                             fingerprint=dict(task='face-pretrain', dataset=self.dataset_cfg))


def load_pretrained(network: nn.Module, path: str) -> None:
    """A pretrained file into the stage's network: facenet-pytorch's released layout (its ``logits`` dropped)
    or a checkpoint of the same network (ours: its head is as wide as the pretraining identities)."""
    keys = load_state_dict(path).keys()
    if any(k.startswith('block8.') for k in keys) and not any(k.startswith('backbone.') for k in keys):
        load_facenet_weights(network, path)
    else:
        load_weights(network, path)
