"""Where a model puts each class: t-SNE of the penultimate features, one panel per model (the paper's Fig. 4).

The retrain oracle scatters the forgotten class among its neighbours; a good unlearned model does the same,
while one that only moved the forget logit keeps the class as its own cluster.
"""
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from unlearn.inference import device_of, predict
from unlearn.reports import pyplot, save_figure


def penultimate_features(network: nn.Module, dataset: Dataset, batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """``network.features`` of every item, ``[N, D]``, and the labels ``[N]``. Items are drawn under a fixed
    seed (:func:`unlearn.inference.predict`): every model embeds the same images even from augmented data."""
    outputs = predict(network, dataset, lambda net, batch: (
        net.features(batch[0].to(device_of(net))).flatten(1).float().cpu(), batch[1]), seed=0, batch_size=batch_size)
    features, labels = zip(*outputs)
    return torch.cat(features).numpy(), torch.cat(labels).numpy()


def fixed_subset(dataset: Dataset, size: int, seed: int = 0) -> Dataset:
    """The same random ``size`` items for every model (all of them if fewer)."""
    if size >= len(dataset):
        return dataset
    order = np.random.default_rng(seed).choice(len(dataset), size, replace=False)
    return Subset(dataset, sorted(order.tolist()))


def tsne_2d(features: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """2-D t-SNE embedding (scikit-learn, PCA initialisation); perplexity is capped for tiny inputs."""
    from sklearn.manifold import TSNE
    perplexity = min(perplexity, max(1.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed).fit_transform(features)


def plot_tsne(embeddings: Dict[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str],
              forget_classes: Sequence[int], path: Path, title: str = '') -> Path:
    """A panel per model: remaining classes in colour, the forgotten ones as large black-edged red points."""
    plt = pyplot()

    forget = np.isin(labels, list(forget_classes))
    forgotten = 'forgotten: ' + (', '.join(class_names[c] for c in forget_classes) if len(forget_classes) <= 3
                                 else f'{len(forget_classes)} classes')
    cmap = plt.get_cmap('tab10' if len(class_names) <= 10 else 'turbo')
    colours = cmap(labels % 10 if len(class_names) <= 10 else labels / max(1, len(class_names) - 1))
    fig, axes = plt.subplots(1, len(embeddings), figsize=(3.4 * len(embeddings), 3.8), dpi=120, squeeze=False)
    for ax, (name, xy) in zip(axes[0], embeddings.items()):
        ax.scatter(xy[~forget, 0], xy[~forget, 1], s=4, c=colours[~forget], alpha=0.5, linewidths=0)
        ax.scatter(xy[forget, 0], xy[forget, 1], s=14, c='red', edgecolors='black', linewidths=0.4,
                   label=forgotten)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc='lower left', fontsize=7, markerscale=1.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
