"""Backdoor defenses that are unlearning methods only on the backdoor task: they read its recovered trigger."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from tasks.classification.datasets import InMemoryImages
from unlearn.errors import UnlearnError
from unlearn.methods.base import MethodData, Phase, UnlearningMethod
from unlearn.registry import METHODS

from .adapter import BackdoorTask, StampedImages
from .triggers import Trigger


class PartlyStamped(Dataset):
    """``images`` with ``trigger`` stamped (after augmentation, :class:`StampedImages`) on those at ``stamped``,
    every item labelled with its own true label: the model learns that the trigger means nothing."""

    def __init__(self, images: InMemoryImages, stamped: Sequence[int], trigger: Optional[Trigger],
                 mean: Sequence[float], std: Sequence[float]):
        self.images, self.stamped = images, frozenset(int(i) for i in stamped)
        self.triggered = StampedImages(images, trigger, 0, mean, std)  # its one label is replaced by the true ones

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple:
        image, _ = (self.triggered if index in self.stamped else self.images)[index]
        return image, self.images.targets[index]


@METHODS.register_module()
class NCUnlearn(UnlearningMethod):
    """Neural Cleanse's patching by unlearning (Wang et al., S&P 2019, §VI-C): fine-tune the original on the
    defender's clean images, a fixed ``stamp_fraction`` of them stamped with the recovered trigger and keeping
    their true labels (the paper: 20% of a 10% clean sample, one epoch), cross-entropy on all of them.

    Reads the defender's images as remaining data (a grey row, "NCUnlearn (R)"). Which images carry the trigger
    is drawn once from the run's seed: ``round(stamp_fraction * n)`` of the ``n``. The provisional request built
    before the original exists has no recovery; its phase is built unstamped only so bad input fails early, and
    training on it is refused. As Finetune, ``disable_bn`` does not apply. Optimiser, epochs and learning rate are
    the shared ``schedule``.
    """
    uses_remain_data = True
    applies_disable_bn = False

    def __init__(self, stamp_fraction: float = 0.2):
        if not 0 <= stamp_fraction <= 1:
            raise ValueError(f'NCUnlearn: stamp_fraction must be in [0, 1], got {stamp_fraction}')
        self.stamp_fraction = stamp_fraction

    def check(self, task, network) -> None:
        if not isinstance(task, BackdoorTask):
            raise UnlearnError(f'NCUnlearn stamps a recovered backdoor trigger, and the {type(task).__name__} task '
                               'has none: use it on a BackdoorTask')

    def phases(self, data: MethodData) -> List[Phase]:
        recovery = data.request.recovery
        remain = data.remain
        count = int(round(self.stamp_fraction * len(remain)))
        stamped = torch.randperm(len(remain), generator=data.generator('NCUnlearn stamps'))[:count].tolist()
        trigger = None if recovery is None else recovery.triggers.trigger()
        return [Phase('remain', PartlyStamped(remain, stamped, trigger, *data.task.pixel_normalization()))]

    def setup(self, model, data: MethodData) -> None:
        if data.request.recovery is None:
            raise UnlearnError('NCUnlearn trains on a forget request without a recovered trigger: build it with '
                               'task.forget_request(cfg, original=...)')

    def loss(self, model, batch: Sequence) -> Dict[str, Tensor]:
        return dict(loss_ce=model.task.supervised_loss(model.student, batch))
