"""Grad-CAM (Selvaraju et al., ICCV 2017, arXiv 1610.02391): where a network looks for an identity (Fig. 5).

``map_c = ReLU(Σ_k w_ck · A_k)`` with ``w_ck`` the spatial mean of ``∂logit_c / ∂A_k``, ``A`` the feature maps
of the last convolutional stage. The paper's Fig. 5: on a forgotten identity the original attends to the face,
the retrained and the unlearned models do not; on the remaining identities all of them do.
"""
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from unlearn.reports import pyplot, save_figure


def _contains(module: nn.Module, kind: type) -> bool:
    return any(isinstance(m, kind) for m in module.modules())


def last_conv_stage(network: nn.Module) -> nn.Module:
    """The last direct child of ``network`` that contains an ``nn.Conv2d`` (``layer4`` of a ResNet, ``block8``
    of facenet's Inception-ResNet): its output is the last stage's feature maps, the coarsest and most semantic,
    which Grad-CAM explains. Where that child is a whole network with its own head (it contains an
    ``nn.Linear``: the ``backbone`` a classifier wraps), the same rule inside it, as its output is a vector."""
    stages = [child for child in network.children() if _contains(child, nn.Conv2d)]
    if not stages:
        raise ValueError(f'{type(network).__name__} has no child module with a Conv2d: no feature maps for Grad-CAM')
    return last_conv_stage(stages[-1]) if _contains(stages[-1], nn.Linear) else stages[-1]


def gradcam(network: nn.Module, layer: nn.Module, images: Tensor, classes: Tensor) -> Tensor:
    """``[N, h, w]`` Grad-CAM maps of ``classes`` (one per image) at ``layer``'s output, before any normalisation
    (an all-negative map is all zeros).

    The network runs in eval mode (its mode is restored after). A forward hook detaches ``layer``'s output and
    switches gradient recording on from there, so the pass records no graph below the layer (the memory of
    inference, not of training: it works inside :func:`unlearn.inference.predict`'s ``no_grad``), and
    ``torch.autograd.grad`` differentiates the logits with respect to the feature maps only: no parameter's
    ``.grad`` is written or changed, frozen parameters are no obstacle.
    """
    if torch.is_inference_mode_enabled():  # it cannot be left for the few gradients Grad-CAM takes
        raise RuntimeError('Grad-CAM needs gradients, and inference mode forbids them: pass gradients=True to '
                           'unlearn.inference.predict')
    activations = []

    def record_from_here(module: nn.Module, inputs, output: Tensor) -> Tensor:
        torch.set_grad_enabled(True)  # until the ``no_grad`` block below ends
        activations.append(output.detach().requires_grad_())
        return activations[-1]

    was_training = network.training
    network.eval()
    handle = layer.register_forward_hook(record_from_here)
    try:
        with torch.no_grad():
            logits = network(images)
            if not activations:
                raise ValueError(f'the forward pass does not use {type(layer).__name__}: no maps for Grad-CAM')
            if activations[-1].dim() != 4:
                raise ValueError(f'Grad-CAM needs [N, C, h, w] feature maps; {type(layer).__name__} gives '
                                 f'{tuple(activations[-1].shape)}')
            score = logits.gather(1, classes.to(logits.device).long()[:, None]).sum()  # images are independent
        maps = activations[-1]
        gradients, = torch.autograd.grad(score, maps)
    finally:
        handle.remove()
        network.train(was_training)
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    return F.relu((weights * maps.detach()).sum(1))


def upsample(maps: Tensor, size: Sequence[int]) -> Tensor:
    """``[N, h, w]`` maps bilinearly resized to the image ``size`` (non-negative maps stay non-negative)."""
    return F.interpolate(maps[:, None].float(), size=tuple(size), mode='bilinear', align_corners=False)[:, 0]


def heat_overlay(map_: np.ndarray, vmax: float, cmap) -> np.ndarray:
    """``[H, W, 4]`` RGBA heat map whose opacity grows with the value: zero is fully transparent, so a map the
    model suppressed leaves the face visible instead of painting it the colour map's lowest colour."""
    share = np.clip(np.nan_to_num(map_) / vmax, 0, 1) if vmax > 0 else np.zeros_like(map_)
    rgba = cmap(share)
    rgba[..., 3] = 0.65 * share
    return rgba


def gradcam_grid(path: Path, images: np.ndarray, maps: Dict[str, np.ndarray], row_labels: Sequence[str],
                 title: str) -> Path:
    """One row per face: the image, then each model's Grad-CAM over it, in ``maps`` order.

    Args:
        images: ``[N, H, W, 3]`` in [0, 1] (un-normalised).
        maps: model name -> ``[N, H, W]`` non-negative maps at the images' size.
        row_labels: one per image (e.g. the identity and whether it is forgotten).

    Each row has one colour scale, shared by its models (0 to the row's largest value): a per-map min-max would
    stretch a suppressed map to look as strong as the original's. A row of all-zero maps stays blank.
    """
    plt = pyplot()
    cmap = plt.get_cmap('jet')
    columns = ['image', *maps]
    fig, axes = plt.subplots(len(images), len(columns), figsize=(1.9 * len(columns), 1.9 * len(images) + 0.7),
                             dpi=120, squeeze=False)
    for i, (row, image) in enumerate(zip(axes, images)):
        row_maps = [np.nan_to_num(model_maps[i]) for model_maps in maps.values()]
        vmax = max(float(m.max()) for m in row_maps)
        row[0].imshow(image)
        for ax, map_ in zip(row[1:], row_maps):
            ax.imshow(image)
            ax.imshow(heat_overlay(map_, vmax, cmap))
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(row_labels[i], fontsize=8)
    for ax, name in zip(axes[0], columns):
        ax.set_title(name.replace(' (', '\n('), fontsize=9)  # a run's folder name on its own line
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))  # half an inch for a two-line title
    return save_figure(fig, path)
