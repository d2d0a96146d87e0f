"""Image classifiers of the paper (SPEC.md §4.3) plus two CPU-sized ones, all built from configs.

Every model here shares one contract that the unlearning methods rely on:

* ``forward(x) -> [N, K]`` logits, and ``features(x) -> [N, D]``, the penultimate features that feed
  the classifier (t-SNE plots, Boundary Expand's widened head, feature-space probes);
* the final classifier is an ``nn.Linear`` called exactly ``fc``, and no other parameter name contains
  ``'fc'``: the paper's freeze-linear option freezes every parameter whose name contains ``'fc'``
  (SPEC.md §1.6), so a hidden layer named ``fc1`` would silently be frozen too;
* random initialisation as torchvision does it (no pretrained weights anywhere, SPEC.md §4.3).

Where torchvision has the network, it is reused (subclassed, so the state-dict keys stay torchvision's,
or wrapped where torchvision's attribute ``features`` would clash with the ``features`` method).
"""
import torch
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

from unlearn.registry import MODELS


def _check_num_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')


class _Classifier(nn.Module):
    """``forward = fc(features(x))``; subclasses define ``features`` and an ``fc`` linear layer."""

    fc: nn.Linear

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x))


def _init_conv_bn(module: nn.Module) -> None:
    """torchvision's ResNet initialisation: He normal (fan_out) convolutions, BN weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@MODELS.register_module()
class ResNet18(ResNet, _Classifier):
    """ResNet-18 (He et al., CVPR 2016) from torchvision's ``ResNet``/``BasicBlock``.

    Args:
        num_classes: K, the width of ``fc``.
        stem: ``'imagenet'`` is torchvision's ``resnet18(weights=None)`` (7x7 stride-2 conv + max-pool),
            the official ``resnet18`` that the paper feeds 224 px images, CIFAR included (SPEC.md §4.3).
            ``'cifar'`` is the official ``my-resnet18``: a 3x3 stride-1 stem conv and no max-pool, for
            32 px inputs (about 0.56 GFLOPs per image, the same as the ImageNet stem at 224 px).
    """

    def __init__(self, num_classes: int, stem: str = 'imagenet') -> None:
        _check_num_classes(num_classes)
        if stem not in ('imagenet', 'cifar'):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
        self.stem = stem
        if stem == 'cifar':
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode='fan_out', nonlinearity='relu')
            self.maxpool = nn.Identity()

    def features(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    forward = _Classifier.forward


# VGG configuration "D" (16 weight layers): output channels of each 3x3 conv, 'M' = 2x2 max-pool.
_VGG16_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M')


@MODELS.register_module()
class VGG16BN(_Classifier):
    """VGG-16 with BatchNorm (Simonyan & Zisserman, ICLR 2015) as the official ``vgg16`` (SPEC.md §4.3).

    Bias-free 3x3 convs of configuration D, each followed by BN and ReLU; ``AdaptiveAvgPool(2x2)`` ->
    ``Linear(2048, 256)`` -> ReLU -> ``Linear(256, 256)`` -> ReLU -> ``fc(256 -> K)``. Made for 32 px
    inputs (the five max-pools leave 1x1, which the 2x2 pool replicates). The two hidden linear layers
    are ``classifier_hidden`` so that freeze-linear freezes ``fc`` only. torchvision's VGG init: He
    normal convs, BN 1/0, linears N(0, 0.01) with zero bias.

    Args:
        num_classes: K, the width of ``fc``.
    """

    def __init__(self, num_classes: int) -> None:
        _check_num_classes(num_classes)
        super().__init__()
        layers, in_channels = [], 3
        for v in _VGG16_CFG:
            if v == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1, bias=False),
                           nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                in_channels = v
        self.body = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier_hidden = nn.Sequential(nn.Linear(512 * 2 * 2, 256), nn.ReLU(inplace=True),
                                               nn.Linear(256, 256), nn.ReLU(inplace=True))
        self.fc = nn.Linear(256, num_classes)
        _init_conv_bn(self)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def features(self, x: Tensor) -> Tensor:
        return self.classifier_hidden(torch.flatten(self.avgpool(self.body(x)), 1))


@MODELS.register_module()
class ViTS16(VisionTransformer, _Classifier):
    """ViT-S/16 (Dosovitskiy et al., ICLR 2021) from torchvision's ``VisionTransformer`` (SPEC.md §4.3).

    Patch 16, 12 layers, 6 heads, hidden 384, MLP 1536; torchvision's ``heads`` is replaced by
    ``fc(384 -> K)``, zero-initialised as in the official code. Features are the final class token.

    Args:
        num_classes: K, the width of ``fc``.
        image_size: input side in pixels, a multiple of 16 (the paper uses 224).
    """

    def __init__(self, num_classes: int, image_size: int = 224) -> None:
        _check_num_classes(num_classes)
        if not isinstance(image_size, int) or image_size < 16 or image_size % 16:
            raise ValueError(f'image_size must be a positive multiple of patch size 16, got {image_size!r}')
        super().__init__(image_size=image_size, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384,
                         mlp_dim=1536, num_classes=num_classes)
        del self.heads
        self.fc = nn.Linear(384, num_classes)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def features(self, x: Tensor) -> Tensor:
        x = self._process_input(x)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.encoder(x)[:, 0]

    forward = _Classifier.forward


@MODELS.register_module()
class SwinT(_Classifier):
    """Swin-T (Liu et al., ICCV 2021) from torchvision's ``SwinTransformer`` (SPEC.md §4.3).

    Patch 4, window 7, embed 96, depths (2, 2, 6, 2), heads (3, 6, 12, 24) and stochastic depth 0.1 (the
    official timm ``drop_path_rate``; torchvision's ``swin_t`` would use 0.2). The torchvision network is
    kept as ``backbone`` with its head removed, and ``fc(768 -> K)`` follows the pooled features, as the
    official code does (it leaves timm's own head unused; here there is none). ``fc`` is initialised as
    torchvision initialises Swin's head (truncated normal, std 0.02, zero bias).

    Args:
        num_classes: K, the width of ``fc``.
    """

    def __init__(self, num_classes: int) -> None:
        _check_num_classes(num_classes)
        super().__init__()
        self.backbone = SwinTransformer(patch_size=[4, 4], embed_dim=96, depths=[2, 2, 6, 2],
                                        num_heads=[3, 6, 12, 24], window_size=[7, 7],
                                        stochastic_depth_prob=0.1)
        self.backbone.head = nn.Identity()
        self.fc = nn.Linear(768, num_classes)  # embed_dim * 2 ** (stages - 1)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.zeros_(self.fc.bias)

    def features(self, x: Tensor) -> Tensor:
        return self.backbone(x)


class _ZeroPadShortcut(nn.Module):
    """He et al.'s option-A shortcut: subsample by ``stride`` and zero-pad the new channels (no params)."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride, self.extra_channels = stride, extra_channels

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        half = self.extra_channels // 2
        return nn.functional.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))


@MODELS.register_module()
class CifarResNet(_Classifier):
    """The CIFAR ResNet of He et al. (CVPR 2016, §4.2): the CPU-affordable CIFAR model.

    ``depth = 6n + 2``: a 3x3 conv with 16 channels, three stages of ``n`` torchvision ``BasicBlock`` with
    16, 32 and 64 channels (stride 2 at the start of stages 2 and 3), global average pooling, ``fc``.
    Shortcuts are **option A** as in the paper's CIFAR experiments: identity, or subsampling plus zero
    channel padding where the shape changes, so ResNet-20 has 0.27M parameters and ~41 MFLOPs per 32 px
    image (~13x fewer than the CIFAR-stem ResNet-18). torchvision's ResNet initialisation.

    Args:
        num_classes: K, the width of ``fc``.
        depth: 20, 32, 44, 56, 110, ... (any ``6n + 2`` with ``n >= 1``).
    """

    def __init__(self, num_classes: int, depth: int = 20) -> None:
        _check_num_classes(num_classes)
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f'depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth!r}')
        super().__init__()
        blocks_per_stage = (depth - 2) // 6
        self.depth = depth
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages, in_channels = [], 16
        for channels, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(blocks_per_stage):
                s = stride if i == 0 else 1
                shortcut = None
                if s != 1 or in_channels != channels:
                    shortcut = _ZeroPadShortcut(s, channels - in_channels)
                blocks.append(BasicBlock(in_channels, channels, stride=s, downsample=shortcut))
                in_channels = channels
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        _init_conv_bn(self)

    def features(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(self.avgpool(x), 1)


@MODELS.register_module()
class DigitsCNN(_Classifier):
    """A small CNN for scikit-learn's 8x8 grayscale handwritten digits (the embedded quick-start data).

    Two 3x3 conv + BN + ReLU blocks (32 then 64 channels) at 8x8, a 2x2 max-pool, a third 64-channel
    block at 4x4, average pooling to 2x2 (256 features: keeping a coarse layout of the strokes beats
    global pooling here, ~99 % against ~98 % test accuracy after 15 epochs) and ``fc``. BatchNorm is
    there on purpose: the paper's ``disable_bn`` option (SPEC.md §1.5) needs BN layers to act on.
    torchvision's ResNet initialisation.

    Args:
        num_classes: K, the width of ``fc`` (10 digits).
        in_channels: 1 for the grayscale digits.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        _check_num_classes(num_classes)
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        super().__init__()
        self.body = nn.Sequential(_conv_bn_relu(in_channels, 32), _conv_bn_relu(32, 64), nn.MaxPool2d(2),
                                  _conv_bn_relu(64, 64))
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(64 * 2 * 2, num_classes)
        _init_conv_bn(self)

    def features(self, x: Tensor) -> Tensor:
        return torch.flatten(self.avgpool(self.body(x)), 1)


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
