"""Segmentation figures of a run: predictions side by side (the paper's Fig. 6) and where forget pixels go."""
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from unlearn.reports import pyplot, save_figure

VOID_COLOUR = (224, 224, 192)  # VOC's colour for void / object borders


def colorize(label: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """``[H, W, 3]`` uint8 picture of a label map in the dataset's palette, void in VOC's cream."""
    colours = np.zeros((256, 3), np.uint8)
    colours[:len(palette)] = palette
    colours[255] = VOID_COLOUR
    return colours[label]


def overlay_figure(path: Path, samples: List[Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]],
                   palette: Sequence[Sequence[int]], class_names: Sequence[str], title: str) -> Path:
    """One row per image: the image, its ground truth, then each model's prediction over the image.

    Args:
        samples: ``(image [H, W, 3] RGB, ground truth [H, W], {model name: prediction [H, W]})``.
    """
    plt = pyplot()
    from matplotlib.patches import Patch

    columns = ['image', 'ground truth', *samples[0][2]]
    fig, axes = plt.subplots(len(samples), len(columns), figsize=(2.2 * len(columns), 2.2 * len(samples) + 0.8),
                             dpi=120, squeeze=False)
    shown = set()
    for row, (image, gt, predictions) in zip(axes, samples):
        pictures = [image, colorize(gt, palette)] + [
            (0.35 * image + 0.65 * colorize(p, palette)).astype(np.uint8) for p in predictions.values()]
        for ax, picture in zip(row, pictures):
            ax.imshow(picture, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
        shown |= set(np.unique(gt).tolist()) | {c for p in predictions.values() for c in np.unique(p).tolist()}
    for ax, name in zip(axes[0], columns):
        ax.set_title(name, fontsize=9)
    legend = [Patch(color=np.array(palette[c]) / 255, label=class_names[c]) for c in sorted(shown) if c < len(palette)]
    fig.legend(handles=legend, loc='lower center', ncol=min(len(legend), 7), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return save_figure(fig, path)


def redistribution_figure(path: Path, rows: Dict[str, Dict[str, float]], title: str, min_share: float = 0.5) -> Path:
    """Grouped bars: for each model, the share of ground-truth forget pixels predicted as each class."""
    plt = pyplot()

    names = list(dict.fromkeys(c for r in rows.values() for c in r))  # 'no prediction' only where a model has it
    classes = [c for c in names if any(r.get(c, 0.0) >= min_share for r in rows.values())]
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(classes) + 2), 3.6), dpi=120)
    for i, (name, shares) in enumerate(rows.items()):
        ax.bar(np.arange(len(classes)) + (i - (len(rows) - 1) / 2) * width, [shares.get(c, 0.0) for c in classes],
               width, label=name)
    ax.set_xticks(np.arange(len(classes)), classes, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel('% of forget pixels predicted as')
    ax.set_title(title, fontsize=10)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
