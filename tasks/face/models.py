"""Face recognition networks: facenet-pytorch's Inception-ResNet-v1 behind the classifiers' contract.

``facenet_pytorch`` is imported only when a face network is built, so classification and segmentation runs never
need it (it is installed with ``--no-deps``, requirements/nodeps.txt). Its pretrained weights are never downloaded:
a run starts from a released file the user fetched once (the config's ``pretrained_checkpoint``), which
:func:`load_facenet_weights` reads through the restricted loader, as every checkpoint is read.
"""
from pathlib import Path
from typing import Optional, Union

from torch import Tensor, nn

from tasks.classification.models import _check_num_classes, _Classifier
from unlearn.checkpoint import load_state_dict
from unlearn.errors import UnlearnError
from unlearn.registry import MODELS

#: facenet-pytorch's input: 160 px face crops scaled as ``(x - 127.5) / 128`` on 0-255 pixels, i.e. this
#: per-channel mean and std on [0, 1] tensors (what ``torchvision.transforms.Normalize`` takes).
FACENET_SIZE = 160
FACENET_MEAN = (0.5, 0.5, 0.5)
FACENET_STD = (128 / 255,) * 3

#: Where facenet-pytorch's ``pretrained=`` would download from, and the file of each name.
FACENET_RELEASE_URL = 'https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/'
FACENET_RELEASES = {'vggface2': '20180402-114759-vggface2.pt', 'casia-webface': '20180408-102900-casia-webface.pt'}


def _refuse_pretrained(pretrained) -> None:
    """facenet-pytorch would download and ``torch.load`` the file itself; runs are offline and read weights only
    through the restricted loader, so say which file to fetch instead."""
    use = "set the config's pretrained_checkpoint to its local path (pretrained must stay None)"
    if pretrained in FACENET_RELEASES:
        file = FACENET_RELEASES[pretrained]
        raise UnlearnError(f'pretrained={pretrained!r} would download weights, which is never done here: fetch {file} '
                           f'from facenet-pytorch\'s GitHub releases ({FACENET_RELEASE_URL}{file}) and {use}')
    raise UnlearnError(f'pretrained={pretrained!r} is not supported: weights come from a local file; fetch '
                       f"{FACENET_RELEASES['vggface2']} from {FACENET_RELEASE_URL} and {use}")


@MODELS.register_module()
class FaceNetInceptionResnetV1(_Classifier):
    """Inception-ResNet-v1 of FaceNet (Schroff et al., CVPR 2015) as facenet-pytorch builds it, with a K-way ``fc``.

    ``backbone`` is facenet-pytorch's ``InceptionResnetV1`` whose ``logits`` layer is an ``nn.Identity`` and that
    runs its ``classify=True`` path, so its state-dict keys are facenet's under ``backbone.`` and ``features(x)``
    is exactly what facenet's ``logits`` sees: the 512-d output of ``last_linear`` and ``last_bn``, **not**
    L2-normalised (facenet normalises only the embedding it returns for verification, ``classify=False``).
    ``forward(x) = fc(features(x))`` is then facenet's classifying forward with ``logits`` renamed ``fc``, the
    name freeze-linear freezes (SPEC.md §1.6). facenet-pytorch's initialisation (PyTorch's defaults) and its
    TensorFlow BN epsilon (1e-3) are kept. Inputs: ``FACENET_SIZE`` px crops normalised with ``FACENET_MEAN`` and
    ``FACENET_STD``; any side from 75 px up runs (the stride-2 stages leave 1x1 there).

    Args:
        num_classes: K, the width of ``fc``.
        dropout_prob: dropout on the pooled features before ``last_linear`` (facenet's default).
        pretrained: must be None; facenet's names ('vggface2', 'casia-webface') are refused with the file to fetch
            for ``pretrained_checkpoint``, which :func:`load_facenet_weights` loads.
    """

    def __init__(self, num_classes: int, dropout_prob: float = 0.6, pretrained: Optional[str] = None) -> None:
        _check_num_classes(num_classes)
        if pretrained is not None:
            _refuse_pretrained(pretrained)
        from facenet_pytorch import InceptionResnetV1  # here: only face runs need the package

        super().__init__()
        self.backbone = InceptionResnetV1(classify=False, dropout_prob=dropout_prob)
        self.backbone.classify = True  # the un-normalised last_bn output, as facenet feeds its logits
        self.backbone.logits = nn.Identity()
        self.fc = nn.Linear(512, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.backbone(x)


def load_facenet_weights(network: FaceNetInceptionResnetV1,
                         path: Union[str, Path]) -> FaceNetInceptionResnetV1:
    """Start ``network``'s backbone from a facenet-pytorch weights file; ``fc`` stays as built.

    The file has the keys of ``InceptionResnetV1(classify=True, num_classes=8631).state_dict()`` (the released
    ``20180402-114759-vggface2.pt``; ``classify=False`` files, without ``logits``, fit too). ``logits.*``, a
    classifier over facenet's training identities, is dropped; every other key ``k`` loads into ``backbone.k``.
    A BN ``num_batches_tracked`` the file lacks keeps the model's own value, as ``nn.BatchNorm`` does for files
    of PyTorch < 0.4.1: it counts steps and holds no weight. Anything else that does not fit is refused in one line.
    """
    state = load_state_dict(path)  # the restricted loader: no code from the file runs
    weights = {k: v for k, v in state.items() if not k.startswith('logits.')}
    own = network.backbone.state_dict()
    unexpected = [k for k in weights if k not in own]
    missing = [k for k in own if k not in weights and not k.endswith('.num_batches_tracked')]
    mismatched = [k for k in weights if k in own and weights[k].shape != own[k].shape]
    if unexpected or missing or mismatched:
        detail = '; '.join(part for part in (
            f'{len(unexpected)} keys InceptionResnetV1 does not have (first {unexpected[0]})' if unexpected else '',
            f'{len(missing)} of its keys missing (first {missing[0]})' if missing else '',
            f'{mismatched[0]} is {tuple(weights[mismatched[0]].shape)} where InceptionResnetV1 has '
            f'{tuple(own[mismatched[0]].shape)}' if mismatched else '') if part)
        raise UnlearnError(f"checkpoint {path} is not facenet-pytorch's InceptionResnetV1 weights: {detail}. Set "
                           f"pretrained_checkpoint to the released {FACENET_RELEASES['vggface2']} (or "
                           f"{FACENET_RELEASES['casia-webface']}).")
    network.backbone.load_state_dict({**own, **weights})
    return network
