"""Classification networks: the shared contract (logits, features, a lone ``fc``) and each model's shape."""
import pytest
import torch
import torchvision
from torch import nn

import tasks  # noqa: F401  (registers the models)
from tasks.classification.models import CifarResNet, ResNet18, SwinT, ViTS16
from unlearn.config import build_from
from unlearn.registry import MODELS

K = 7
# (config, input shape): small inputs keep the forward passes cheap; the ImageNet-stem ResNet-18 gets
# the one 224 px image it is meant for.
CASES = {
    'ResNet18-imagenet': (dict(type='ResNet18', num_classes=K), (1, 3, 224, 224)),
    'ResNet18-cifar': (dict(type='ResNet18', num_classes=K, stem='cifar'), (2, 3, 32, 32)),
    'VGG16BN': (dict(type='VGG16BN', num_classes=K), (2, 3, 32, 32)),
    'ViTS16': (dict(type='ViTS16', num_classes=K, image_size=32), (2, 3, 32, 32)),
    'SwinT': (dict(type='SwinT', num_classes=K), (2, 3, 32, 32)),
    'CifarResNet20': (dict(type='CifarResNet', num_classes=K, depth=20), (2, 3, 32, 32)),
    'DigitsCNN': (dict(type='DigitsCNN', num_classes=K), (2, 1, 8, 8)),
}


@pytest.fixture(scope='module')
def built():
    torch.manual_seed(0)
    return {name: MODELS.build(cfg).eval() for name, (cfg, _) in CASES.items()}


@pytest.mark.parametrize('name', CASES)
def test_logits_and_features_feed_fc(built, name):
    model, shape = built[name], CASES[name][1]
    x = torch.randn(shape)
    with torch.no_grad():
        logits, features = model(x), model.features(x)
    assert logits.shape == (shape[0], K)
    assert isinstance(model.fc, nn.Linear) and model.fc.out_features == K
    assert features.shape == (shape[0], model.fc.in_features)
    assert torch.allclose(model.fc(features), logits, atol=1e-5)


@pytest.mark.parametrize('name', CASES)
def test_only_the_classifier_has_fc_in_its_name(built, name):
    """Freeze-linear freezes every parameter whose name contains 'fc' (SPEC.md §1.6)."""
    assert [n for n, _ in built[name].named_parameters() if 'fc' in n] == ['fc.weight', 'fc.bias']


@pytest.mark.parametrize('cfg', [dict(type='ResNet18', num_classes=0),
                                 dict(type='ResNet18', num_classes=10, stem='x'),
                                 dict(type='ViTS16', num_classes=10, image_size=30),
                                 dict(type='CifarResNet', num_classes=10, depth=21),
                                 dict(type='VGG16BN', num_classes=2.5),
                                 dict(type='DigitsCNN', in_channels=0)])
def test_bad_arguments_raise_value_error(cfg):
    with pytest.raises(ValueError):
        MODELS.build(cfg)


def test_resnet18_imagenet_stem_is_torchvisions_resnet18(built):
    """Same modules and state-dict keys as ``torchvision.models.resnet18``, so checkpoints interchange."""
    ours, reference = built['ResNet18-imagenet'], torchvision.models.resnet18(weights=None, num_classes=K)
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in reference.state_dict().items()}
    assert ours.conv1.kernel_size == (7, 7) and isinstance(ours.maxpool, nn.MaxPool2d)


def test_resnet18_cifar_stem_keeps_32px_resolution(built):
    model = built['ResNet18-cifar']
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    with torch.no_grad():
        stem = model.maxpool(model.relu(model.bn1(model.conv1(torch.zeros(1, 3, 32, 32)))))
    assert stem.shape == (1, 64, 32, 32)


def test_vgg16bn_matches_the_official_structure(built):
    """SPEC.md §4.3: cfg D + BN, bias-free convs, 2x2 pool -> 2048->256 -> ReLU -> 256->256 -> ReLU -> fc."""
    model = built['VGG16BN']
    layers = list(model.body)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert all(c.bias is None and c.kernel_size == (3, 3) for c in convs)
    assert all(isinstance(layers[i + 1], nn.BatchNorm2d) for i, m in enumerate(layers)
               if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, nn.MaxPool2d) for m in layers) == 5
    assert model.avgpool.output_size == (2, 2)
    hidden = list(model.classifier_hidden)
    assert [type(m) for m in hidden] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    assert (hidden[0].in_features, hidden[0].out_features, hidden[2].out_features) == (2048, 256, 256)
    assert model.fc.in_features == 256


def test_vit_s16_shape_and_zero_initialised_head(built):
    model = built['ViTS16']
    assert torch.count_nonzero(model.fc.weight) == 0 and torch.count_nonzero(model.fc.bias) == 0
    assert (model.hidden_dim, model.mlp_dim, model.patch_size) == (384, 1536, 16)
    assert len(model.encoder.layers) == 12
    assert model.encoder.layers[0].self_attention.num_heads == 6
    assert not hasattr(model, 'heads')
    with torch.no_grad():
        assert torch.count_nonzero(model(torch.randn(2, 3, 32, 32))) == 0
    assert ViTS16(num_classes=3).image_size == 224


def test_swin_t_has_stochastic_depth_0_1(built):
    model = built['SwinT']
    depth_probs = [m.p for m in model.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert len(depth_probs) == 12 and max(depth_probs) == pytest.approx(0.1)
    assert isinstance(model.backbone.head, nn.Identity) and model.fc.in_features == 768


@pytest.mark.parametrize('depth,millions', [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85)])
def test_cifar_resnet_parameter_counts_match_he_et_al(depth, millions):
    """He et al. 2016, Table 6 (option-A shortcuts carry no parameters)."""
    model = CifarResNet(num_classes=10, depth=depth)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(millions, abs=0.005)
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in model.modules())


def test_digits_cnn_has_batchnorm_for_disable_bn(built):
    assert any(isinstance(m, nn.BatchNorm2d) for m in built['DigitsCNN'].modules())


def test_models_are_importable_by_class():
    assert MODELS.get('ResNet18') is ResNet18 and MODELS.get('SwinT') is SwinT


def test_classification_resnet18_state_dict_loads_into_torchvision(tmp_path):
    """Our ResNet18 (ImageNet stem) keeps torchvision's keys and shapes: unlearned.pth loads into resnet18."""
    import torchvision

    from unlearn.checkpoint import save_state_dict
    ours = build_from(MODELS, dict(type='ResNet18', num_classes=10), 'model').eval()
    save_state_dict(ours, tmp_path / 'unlearned.pth')
    state = torch.load(tmp_path / 'unlearned.pth', weights_only=True)
    theirs = torchvision.models.resnet18(num_classes=10).eval()
    theirs.load_state_dict(state, strict=True)
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(theirs(images), ours(images))
