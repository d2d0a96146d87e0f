"""What a backdoor defense looks like: the triggers the recovery found next to the attack's, and what each model
predicts on a few test images with and without them.

``trigger_recovery.png`` shows why Neural Cleanse picked t̂ (its mask is an outlier among the classes' masks, below
the MAD threshold) and whether its trigger resembles the true one; ``triggered_examples.png`` shows whether the
backdoor still fires after the defense, and whether the recovered trigger fires it as the true one does.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from unlearn.inference import device_of, predict
from unlearn.methods.attacks import PixelSpace
from unlearn.reports import pyplot

from .recovery import ANOMALY_THRESHOLD, MAD_TO_STD, RecoveredTriggers, mask_iou
from .triggers import Trigger

#: Clean test images in triggered_examples.png (one per class, spread over the non-target classes).
FIGURE_IMAGES = 5


def flag_threshold(norms: np.ndarray) -> float:
    """The mask norm below which :func:`mad_detection` flags a class: ``median - 2 * MAD`` (consistency-scaled
    MAD), the norms' own form of "below the median with anomaly index > 2"."""
    median = np.median(norms)
    return float(median - ANOMALY_THRESHOLD * MAD_TO_STD * np.median(np.abs(norms - median)))


def _show(ax, image: np.ndarray, title: str = '', colour: str = 'black') -> None:
    """An image ``[H, W]`` or ``[H, W, C]`` in [0, 1] on a fixed scale (grey for one channel), pixels unsmoothed."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    ax.imshow(image, cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8, color=colour)


def plot_trigger_recovery(triggers: RecoveredTriggers, true_trigger: Optional[Trigger], true_target: Optional[int],
                          class_names: Sequence[str], title: str = ''):
    """One column per scanned class (its mask ``m`` and ``m * p``) and one for the attack's trigger; below, the
    masks' L1 norms with the MAD flag threshold, t̂ in red and the true target starred. A suspect model's true
    trigger and target are unknown (None): neither is drawn. Returns the figure."""
    plt = pyplot()
    from matplotlib.patches import Patch

    detection = triggers.detection
    columns = len(triggers.classes) + (true_trigger is not None)
    fig = plt.figure(figsize=(max(6.0, 1.1 * columns), 6.4), dpi=120)
    grid = fig.add_gridspec(3, columns, height_ratios=(1, 1, 2.2))
    shown = [(class_names[c], mask, pattern) for c, mask, pattern in
             zip(triggers.classes, triggers.masks, triggers.patterns)]
    if true_trigger is not None:
        shown.append(('true trigger', true_trigger.mask, true_trigger.pattern))
    for column, (name, mask, pattern) in enumerate(shown):
        scanned = column < len(triggers.classes)
        detected = scanned and triggers.classes[column] == detection.target
        label = name + (' (t̂)' if detected else '')
        if scanned and triggers.classes[column] == true_target:
            label += '\n★ true target'
        _show(fig.add_subplot(grid[0, column]), mask, label, 'tab:red' if detected else 'black')
        _show(fig.add_subplot(grid[1, column]), mask[:, :, None] * pattern)
    fig.axes[0].set_ylabel('mask m', fontsize=8)
    fig.axes[1].set_ylabel('m · p', fontsize=8)

    ax = fig.add_subplot(grid[2, :])
    x = np.arange(len(detection.classes))
    colours = ['tab:red' if c == detection.target else 'tab:orange' if flagged else 'tab:blue'
               for c, flagged in zip(detection.classes, detection.flagged)]
    ax.bar(x, detection.norms, color=colours)
    top = max(detection.norms.max(), 0.0 if true_trigger is None else true_trigger.l1_norm)
    for i, (norm, index) in enumerate(zip(detection.norms, detection.anomaly_indices)):
        ax.text(i, norm + 0.02 * top, f'{index:.1f}', ha='center', va='bottom', fontsize=7)
    threshold = flag_threshold(detection.norms)
    lines = [ax.axhline(np.median(detection.norms), color='grey', ls=':', lw=1, label='median'),
             ax.axhline(threshold, color='black', ls='--', lw=1,
                        label=f'flag threshold: median − {ANOMALY_THRESHOLD:g}·MAD = {threshold:.2f}')]
    if true_trigger is not None:
        lines.append(ax.axhline(true_trigger.l1_norm, color='tab:green', ls='-.', lw=1,
                                label=f'true trigger: {true_trigger.l1_norm:.2f}'))
    if true_target is not None and true_target in detection.classes:
        star = int(np.flatnonzero(detection.classes == true_target)[0])
        lines += ax.plot(star, detection.norms[star] + 0.12 * top, '*', color='black', ms=10, label='true target')
    verdict = 'flagged' if detection.target_flagged else 'not flagged: smallest norm'
    patches = [Patch(color='tab:red', label=f't̂ ({verdict})'), Patch(color='tab:orange', label='flagged'),
               Patch(color='tab:blue', label='not flagged')]
    ax.legend(handles=patches + lines, fontsize=7, ncol=2, loc='upper right')
    ax.set_xticks(x, [class_names[c] for c in detection.classes], fontsize=8)
    ax.set_ylim(0, 1.45 * top)
    ax.set_ylabel('mask L1 norm ‖m‖₁')
    ax.set_title('numbers: anomaly index |n − median| / MAD; flagged: below the median and index > '
                 f'{ANOMALY_THRESHOLD:g}', fontsize=8)
    ax.grid(alpha=0.3, axis='y')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def trigger_recovery_figure(task, triggers: RecoveredTriggers, model: str = 'Original'):
    """:func:`plot_trigger_recovery` of a backdoor task's recovery on ``model`` (a name for the title)."""
    detection = triggers.detection
    row = int(np.flatnonzero(detection.classes == detection.target)[0])
    names = task.class_names
    title = (f"{task.recovery_cfg['type']} on the {model}: t̂ = '{names[detection.target]}' "
             f"({'flagged' if detection.target_flagged else 'not flagged'}, anomaly index "
             f'{detection.anomaly_indices[row]:.2f}); ')
    if task.attack is None:
        return plot_trigger_recovery(triggers, None, None, names, title + 'a suspect model: no true trigger known')
    title += (f"true target '{names[task.target]}'; mask IoU with the true trigger "
              f'{mask_iou(triggers.trigger().mask, task.attack.trigger.mask):.2f}')
    return plot_trigger_recovery(triggers, task.attack.trigger, task.target, names, title)


def example_inputs(task, trigger: Trigger, target: int,
                   count: int = FIGURE_IMAGES) -> Tuple[Dict[str, Tensor], np.ndarray]:
    """Normalised inputs of ``count`` clean test images outside ``target`` (the first of classes spread over the
    others), the same with the attack's trigger (stamped on the stored image, as the ASR sees them; a suspect
    model has none) and with ``trigger`` (stamped in pixel space, as the recovered-trigger ASR sees them); and
    their true labels."""
    test = task.data.test
    labels = np.asarray(test.targets)
    outside = np.flatnonzero(labels != target)
    classes = np.unique(labels[outside])
    chosen = [int(outside[labels[outside] == c][0])
              for c in classes[np.linspace(0, len(classes) - 1, min(count, len(classes))).round().astype(int)]]
    clean = torch.stack([test[i][0] for i in chosen])
    space = PixelSpace(task.data.mean, task.data.std, like=clean)
    inputs = {'clean': clean}
    if task.attack is not None:
        poisoned = task.poisoned
        stamped = np.searchsorted(poisoned.test_forget_indices, chosen)
        inputs['true trigger'] = torch.stack([poisoned.test_forget[int(k)][0] for k in stamped])
    inputs['recovered trigger'] = space.to_inputs(trigger.stamp_tensor(space.to_pixels(clean)))
    return inputs, labels[chosen]


def top_classes(network: nn.Module, inputs: Tensor) -> np.ndarray:
    """The network's top-1 class of each input (through the one inference loop)."""
    outputs = predict(network, TensorDataset(inputs), lambda net, batch: net(batch[0].to(device_of(net))).argmax(1),
                      seed=0, batch_size=len(inputs))
    return torch.cat(outputs).cpu().numpy()


def plot_triggered_examples(pixels: Dict[str, np.ndarray], labels: np.ndarray,
                            predictions: Dict[str, Dict[str, np.ndarray]], class_names: Sequence[str], target: int,
                            target_role: str = "the attack's target"):
    """A row per kind of image (``pixels``: name -> ``[N, H, W, C]`` in [0, 1]), a column per test image; under
    each, every model's prediction (``predictions``: model -> row name -> ``[N]``), red where it is ``target``
    (``target_role`` says what it is), green where it is the image's class. Returns the figure."""
    plt = pyplot()
    rows, count = len(pixels), len(labels)
    fig, axes = plt.subplots(rows, count, figsize=(1.9 * count + 1, (1.7 + 0.17 * len(predictions)) * rows),
                             dpi=120, squeeze=False)
    for r, (row, images) in enumerate(pixels.items()):
        axes[r, 0].set_ylabel(row, fontsize=9)
        for i, ax in enumerate(axes[r]):
            _show(ax, images[i], class_names[labels[i]] if r == 0 else '')
            for line, (model, predicted) in enumerate(predictions.items()):
                guess = int(predicted[row][i])
                colour = 'tab:red' if guess == target else 'tab:green' if guess == labels[i] else 'black'
                ax.text(0.5, -0.06 - 0.14 * line, f'{model}: {class_names[guess]}', transform=ax.transAxes,
                        ha='center', va='top', fontsize=7, color=colour)
    fig.suptitle(f"Each model's prediction (red: {target_role} '{class_names[target]}', green: the image's class)",
                 fontsize=9)
    fig.tight_layout(h_pad=0.2 + 1.2 * len(predictions))
    return fig


def triggered_examples_figure(task, trigger: Trigger, networks: Dict[str, nn.Module], detected: int):
    """:func:`plot_triggered_examples` of a backdoor task's test images with the attack's trigger and ``trigger``
    (the recovered one, for t̂ = ``detected``), predicted by each of ``networks`` (row name -> network). A suspect
    model has no attack's target: the images are chosen outside t̂, and t̂ is red."""
    target = detected if task.attack is None else task.target
    inputs, labels = example_inputs(task, trigger, target)
    space = PixelSpace(task.data.mean, task.data.std, like=inputs['clean'])
    pixels = {row: space.to_pixels(x).clamp(0, 1).permute(0, 2, 3, 1).numpy() for row, x in inputs.items()}
    predictions = {name: {row: top_classes(network, x) for row, x in inputs.items()}
                   for name, network in networks.items()}
    return plot_triggered_examples(pixels, labels, predictions, task.class_names, target,
                                   "the attack's target" if task.attack is not None else 't̂')
