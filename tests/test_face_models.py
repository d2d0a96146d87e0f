"""The face network keeps the classifiers' contract, starts from facenet-pytorch's released layout through the
restricted loader only, never downloads, and costs classification runs nothing (facenet_pytorch stays unimported)."""
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from conftest import REPO
from tasks.classification.models import ResNet18
from tasks.face.models import FACENET_MEAN, FACENET_SIZE, FACENET_STD, FaceNetInceptionResnetV1, load_facenet_weights
from unlearn.config import build_from
from unlearn.errors import UnlearnError
from unlearn.registry import MODELS
from unlearn.tensor_task import TensorTask

K = 7
FACENET_CLASSES = 8631  # the width of logits in the released vggface2 file


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert message and '\n' not in message, message
    return message


def _images(n: int = 2) -> torch.Tensor:
    """``n`` random crops at facenet's size, normalised as its configs will normalise them."""
    mean, std = torch.tensor(FACENET_MEAN).view(3, 1, 1), torch.tensor(FACENET_STD).view(3, 1, 1)
    return (torch.rand(n, 3, FACENET_SIZE, FACENET_SIZE) - mean) / std


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return build_from(MODELS, dict(type='FaceNetInceptionResnetV1', num_classes=K), 'model').eval()


@pytest.fixture(scope='module')
def facenet():
    """facenet-pytorch's own classifying network with every tensor random (BN statistics and counts included), so
    that a weight left unloaded cannot pass for a loaded one."""
    from facenet_pytorch import InceptionResnetV1
    torch.manual_seed(1)
    network = InceptionResnetV1(classify=True, num_classes=FACENET_CLASSES).eval()
    with torch.no_grad():
        for name, tensor in network.state_dict().items():
            if name.endswith('running_var'):
                tensor.uniform_(0.5, 2)
            elif tensor.is_floating_point():
                tensor.normal_(0, 0.05)
            else:
                tensor.fill_(123)
    return network


@pytest.fixture(scope='module')
def facenet_file(facenet, tmp_path_factory):
    path = tmp_path_factory.mktemp('facenet') / 'facenet.pt'
    torch.save(facenet.state_dict(), path)
    return path


def test_forward_is_fc_of_the_512_d_features(model):
    x = _images()
    with torch.no_grad():
        logits, features = model(x), model.features(x)
    assert logits.shape == (2, K) and features.shape == (2, 512)
    assert torch.allclose(model.fc(features), logits, atol=1e-5)
    assert not torch.allclose(features.norm(dim=1), torch.ones(2)), 'features feed fc un-normalised'


@pytest.mark.parametrize('num_classes', [K, 512])
def test_fc_is_the_classifier_the_core_finds(model, num_classes):
    """The core takes the last nn.Linear with K outputs; with K = 512 last_linear has as many and must not win."""
    network = model if num_classes == K else FaceNetInceptionResnetV1(num_classes=num_classes)
    assert type(network.fc) is nn.Linear and network.fc.out_features == num_classes
    assert TensorTask([str(i) for i in range(num_classes)]).classifier(network) is network.fc
    assert [n for n, _ in network.named_parameters() if 'fc' in n] == ['fc.weight', 'fc.bias']


def test_facenet_layout_loads_into_the_backbone_and_fc_stays_fresh(model, facenet, facenet_file):
    fc_before = {k: v.clone() for k, v in model.fc.state_dict().items()}
    assert load_facenet_weights(model, facenet_file) is model
    released = facenet.state_dict()
    ours = model.state_dict()
    assert set(ours) == {f'backbone.{k}' for k in released if not k.startswith('logits.')} | {'fc.weight', 'fc.bias'}
    assert all(torch.equal(ours[f'backbone.{k}'], v) for k, v in released.items() if not k.startswith('logits.'))
    assert all(torch.equal(fc_before[k], v) for k, v in model.fc.state_dict().items())

    captured = []
    hook = facenet.last_bn.register_forward_hook(lambda module, inputs, output: captured.append(output))
    x = _images()
    with torch.no_grad():
        facenet_logits = facenet(x)
        features = model.features(x)
    hook.remove()
    assert torch.allclose(features, captured[0], atol=1e-5), "features are facenet's last_bn output"
    assert torch.allclose(facenet.logits(features), facenet_logits, atol=1e-4)


def test_a_file_without_logits_or_batch_counts_loads(model, facenet, tmp_path):
    """facenet's classify=False layout, saved by a PyTorch that did not count BN steps: the counts stay ours."""
    state = {k: v for k, v in facenet.state_dict().items()
             if not k.startswith('logits.') and not k.endswith('num_batches_tracked')}
    torch.save(state, tmp_path / 'embedding.pt')
    counts = {k: v.clone() for k, v in model.state_dict().items() if k.endswith('num_batches_tracked')}
    load_facenet_weights(model, tmp_path / 'embedding.pt')
    assert all(torch.equal(model.state_dict()[f'backbone.{k}'], v) for k, v in state.items())
    assert all(torch.equal(model.state_dict()[k], v) for k, v in counts.items())


@pytest.mark.parametrize('kind, key', [
    ('resnet18', 'conv1.weight'),
    ('ours', 'backbone.conv2d_1a.conv.weight'),
    ('narrow', 'last_linear.weight'),
    ('partial', 'last_bn.weight'),
])
def test_a_file_that_does_not_fit_is_refused_naming_a_key(model, facenet, tmp_path, kind, key):
    if kind == 'resnet18':
        state = ResNet18(num_classes=10).state_dict()
    elif kind == 'ours':
        state = model.state_dict()
    else:
        state = dict(facenet.state_dict())
        if kind == 'narrow':
            state['last_linear.weight'] = torch.zeros(128, 1792)
        else:
            del state['last_bn.weight']
    torch.save(state, tmp_path / f'{kind}.pt')
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(UnlearnError) as error:
        load_facenet_weights(model, tmp_path / f'{kind}.pt')
    message = _one_line(error)
    assert key in message and "not facenet-pytorch's InceptionResnetV1 weights" in message, message
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), 'nothing loaded'


class _TouchMarker:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_a_crafted_pickle_is_refused_by_the_restricted_loader(facenet, tmp_path):
    marker = tmp_path / 'ran'
    torch.save({'state_dict': facenet.state_dict(), 'meta': _TouchMarker(marker)}, tmp_path / 'crafted.pt')
    with pytest.raises(UnlearnError) as error:
        load_facenet_weights(FaceNetInceptionResnetV1(num_classes=K), tmp_path / 'crafted.pt')
    message = _one_line(error)
    assert 'was not loaded' in message and 'system' in message, message
    assert not marker.exists()


@pytest.mark.parametrize('pretrained, names', [
    ('vggface2', ['20180402-114759-vggface2.pt', 'releases/download/v2.2.9/20180402-114759-vggface2.pt']),
    ('casia-webface', ['20180408-102900-casia-webface.pt']),
    ('imagenet', ['20180402-114759-vggface2.pt']),
])
def test_pretrained_names_are_refused_without_a_download(monkeypatch, pretrained, names):
    import facenet_pytorch.models.inception_resnet_v1 as facenet_module

    def no_download(*args, **kwargs):
        raise AssertionError('facenet-pytorch was asked to download weights')

    monkeypatch.setattr(facenet_module, 'download_url_to_file', no_download)
    for build in (lambda: FaceNetInceptionResnetV1(num_classes=K, pretrained=pretrained),
                  lambda: build_from(MODELS, dict(type='FaceNetInceptionResnetV1', num_classes=K,
                                                  pretrained=pretrained), 'model')):
        with pytest.raises(UnlearnError) as error:
            build()
        message = _one_line(error)
        assert all(name in message for name in names) and "config's pretrained_checkpoint" in message, message


def test_bad_arguments_raise_value_error():
    for kwargs in (dict(num_classes=0), dict(num_classes=2.5), dict(num_classes=K, dropout_prob=1.5)):
        with pytest.raises(ValueError):
            FaceNetInceptionResnetV1(**kwargs)


def test_classification_never_imports_facenet():
    """A fresh interpreter: the classification task and the face models module load, facenet_pytorch does not. The
    module is loaded from its file so that only its own imports count, not those of the rest of tasks.face."""
    code = ('import importlib.util, sys, tasks.classification\n'
            'from tasks.classification.models import ResNet18\n'
            'ResNet18(num_classes=10)\n'
            "assert 'facenet_pytorch' not in sys.modules, 'classification imported facenet_pytorch'\n"
            "spec = importlib.util.spec_from_file_location('face_models', 'tasks/face/models.py')\n"
            'spec.loader.exec_module(importlib.util.module_from_spec(spec))\n'
            "assert 'facenet_pytorch' not in sys.modules, 'importing the face models imported facenet_pytorch'\n")
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
