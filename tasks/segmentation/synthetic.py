"""A small synthetic PASCAL VOC: textured shapes of a few VOC classes, written in the VOC folder layout.

The embedded default of the segmentation task (like scikit-learn's digits for classification): it needs no
download, and mmseg reads it with its own ``PascalVOCDataset``, pipeline and ``IoUMetric`` exactly as it reads
VOC 2012. Class ids, palette PNG masks and the void (255) border around every object follow VOC. Dogs and
cats share a shape and differ in colour and texture, so a model that never saw a dog calls dogs cats, as
the paper's retrained model does (SPEC.md §5.3).
"""
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS
from PIL import Image

from unlearn.generated import write_once

VOID = 255
VOC_CLASSES = PascalVOCDataset.METAINFO['classes']
#: VOC's palette with void drawn in its usual cream colour.
VOC_PALETTE = [c for rgb in PascalVOCDataset.METAINFO['palette'] for c in rgb] + [0, 0, 0] * (255 - 21) + [224, 224, 192]
#: Share of images each class appears in (several may share an image). Dogs are rarer than the other
#: classes, as in VOC, and five classes remain, so the pixels a forgotten class hands to its look-alikes
#: weigh in the remaining mIoU about as much as in VOC's twenty.
CLASS_FREQUENCY = dict(cat=0.4, dog=0.2, cow=0.3, pottedplant=0.3, car=0.3, bird=0.3)


def _grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return y, x


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bilinearly."""
    coarse = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(coarse.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255


def _animal(rng, size, y, x, cy, cx, r, ears: str) -> np.ndarray:
    """An elliptic body with pointed (cat) or round, hanging (dog) ears."""
    a, b = r * rng.uniform(1.0, 1.4), r * rng.uniform(0.7, 0.9)
    mask = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1
    head_x = cx + a * 0.7 * rng.choice([-1, 1])
    head_y, head_r = cy - b * 0.6, r * 0.5
    mask |= (x - head_x) ** 2 + (y - head_y) ** 2 <= head_r ** 2
    for side in (-1, 1):
        ex = head_x + side * head_r * 0.7
        if ears == 'pointed':
            top = head_y - head_r * 1.6
            mask |= (y >= top) & (y <= head_y) & (np.abs(x - ex) <= (y - top) * 0.45)
        else:
            mask |= (x - (ex + side * head_r * 0.3)) ** 2 + (y - head_y - head_r * 0.5) ** 2 <= (head_r * 0.45) ** 2
    return mask


def _draw_cat(rng, size, y, x, cy, cx, r):
    mask = _animal(rng, size, y, x, cy, cx, r, 'pointed')
    stripes = (np.sin((x * 0.9 + y * 0.3) * 1.3 + rng.uniform(0, 6)) > 0.3)[..., None]
    return mask, np.where(stripes, [90, 50, 20], [235, 150, 55])


def _draw_dog(rng, size, y, x, cy, cx, r):
    """A cat's build in paler brown, with spots instead of stripes and hanging ears."""
    mask = _animal(rng, size, y, x, cy, cx, r, 'floppy')
    spots = (_smooth_noise(rng, size, 12) > 0.62)[..., None]
    return mask, np.where(spots, [90, 50, 20], [205, 150, 100])


def _draw_cow(rng, size, y, x, cy, cx, r):
    h, w = r * rng.uniform(0.7, 0.9), r * rng.uniform(1.2, 1.5)
    mask = (np.abs(x - cx) <= w) & (np.abs(y - cy) <= h)
    for leg in (-0.7, 0.7):
        mask |= (np.abs(x - cx - leg * w) <= r * 0.15) & (y >= cy) & (y <= cy + h + r * 0.5)
    blotches = (_smooth_noise(rng, size, 6) > 0.55)[..., None]
    return mask, np.where(blotches, [25, 25, 25], [240, 240, 240])


def _draw_pottedplant(rng, size, y, x, cy, cx, r):
    pot_top = cy + r * 0.2
    pot = (y >= pot_top) & (y <= cy + r) & (np.abs(x - cx) <= r * 0.35 + (cy + r - y) * 0.2)
    leaves = (x - cx) ** 2 + ((y - cy + r * 0.3) * 1.2) ** 2 <= (r * 0.75) ** 2
    leaf_colour = np.stack(np.broadcast_arrays(40, 150 + 60 * _smooth_noise(rng, size, 12), 40), axis=-1)
    colour = np.where(pot[..., None], [30, 90, 50], leaf_colour)
    return pot | leaves, colour


def _draw_car(rng, size, y, x, cy, cx, r):
    w, h = r * 1.4, r * 0.45
    body = (np.abs(x - cx) <= w) & (np.abs(y - cy) <= h)
    cabin = (np.abs(x - cx) <= w * 0.55) & (y >= cy - h * 2.2) & (y <= cy)
    wheels = np.zeros_like(body)
    for side in (-0.6, 0.6):
        wheels |= (x - cx - side * w) ** 2 + (y - cy - h) ** 2 <= (r * 0.3) ** 2
    colour = np.where(wheels[..., None], [20, 20, 20], [40, 70, 200])
    return body | cabin | wheels, colour


def _draw_bird(rng, size, y, x, cy, cx, r):
    body = ((x - cx) / r) ** 2 + ((y - cy) / (r * 0.6)) ** 2 <= 1
    tail_x = cx - r * 1.6
    tail = (x >= tail_x) & (x <= cx - r * 0.6) & (np.abs(y - cy) <= (x - tail_x) * 0.5)
    beak = (x >= cx + r * 0.9) & (x <= cx + r * 1.4) & (np.abs(y - cy) <= (cx + r * 1.4 - x) * 0.4)
    colour = np.where(beak[..., None], [230, 60, 30], [240, 215, 40])
    return body | tail | beak, colour


DRAW: Dict[str, Callable] = dict(cat=_draw_cat, dog=_draw_dog, cow=_draw_cow, pottedplant=_draw_pottedplant,
                                 car=_draw_car, bird=_draw_bird)


def synthetic_sample(rng: np.random.Generator, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """One RGB image ``[H, W, 3]`` uint8 and its VOC label map ``[H, W]`` (class ids, 255 on borders)."""
    y, x = _grid(size)
    tint = rng.uniform(70, 170) + rng.uniform(-15, 15, size=3)  # muted: objects stand out by colour
    image = tint + 60 * (_smooth_noise(rng, size, 4)[..., None] - 0.5) + rng.normal(0, 8, (size, size, 3))
    label = np.zeros((size, size), np.uint8)
    void = np.zeros((size, size), bool)
    names = [n for n, p in CLASS_FREQUENCY.items() if rng.random() < p] or [rng.choice(list(CLASS_FREQUENCY))]
    for name in rng.permutation(names):
        r = rng.uniform(0.15, 0.26) * size
        cy, cx = rng.uniform(r, size - r, size=2)
        mask, colour = DRAW[name](rng, size, y, x, cy, cx, r)
        jitter = rng.uniform(0.85, 1.15)
        image = np.where(mask[..., None], colour * jitter + rng.normal(0, 6, (size, size, 3)), image)
        ring = _dilate(mask) & ~mask
        label[mask] = VOC_CLASSES.index(name)
        void = (void | ring) & ~mask
    label[void] = VOID
    return np.clip(image, 0, 255).astype(np.uint8), label


def _dilate(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def write_synthetic_voc(data_root: str, num_train: int = 160, num_val: int = 80, image_size: int = 64,
                        seed: int = 0) -> Path:
    """Write the dataset to ``data_root`` (the ``VOC2012`` folder) unless it is already there; return it.

    Written to a temporary folder and renamed, so a half-written dataset is never read; a folder written with
    other settings is refused rather than silently mixed.
    """
    settings = dict(num_train=num_train, num_val=num_val, image_size=image_size, seed=seed)

    def write(folder: Path) -> None:
        for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
            (folder / sub).mkdir(parents=True)
        rng = np.random.default_rng(seed)
        ids = {'train': [f'synth_train_{i:04d}' for i in range(num_train)],
               'val': [f'synth_val_{i:04d}' for i in range(num_val)]}
        for split, names in ids.items():
            for name in names:
                image, label = synthetic_sample(rng, image_size)
                Image.fromarray(image).save(folder / 'JPEGImages' / f'{name}.jpg', quality=95)
                mask = Image.fromarray(label, mode='P')
                mask.putpalette(VOC_PALETTE)
                mask.save(folder / 'SegmentationClass' / f'{name}.png')
            (folder / 'ImageSets/Segmentation' / f'{split}.txt').write_text('\n'.join(names) + '\n')
        (folder / 'ImageSets/Segmentation/trainval.txt').write_text('\n'.join(ids['train'] + ids['val']) + '\n')

    return write_once(Path(data_root), settings, 'synthetic_voc.json', 'a synthetic VOC dataset', write)


@DATASETS.register_module()
class SyntheticVOCDataset(PascalVOCDataset):
    """mmseg's ``PascalVOCDataset`` on the synthetic VOC, written to ``data_root`` on first use.

    Args:
        num_train, num_val: images per split.
        image_size: side of the square images (px).
        seed: the generator's seed; the same settings always give the same images.
        **kwargs: ``PascalVOCDataset``'s (``data_root``, ``ann_file``, ``data_prefix``, ``pipeline``, ...).
    """

    def __init__(self, num_train: int = 160, num_val: int = 80, image_size: int = 64, seed: int = 0, **kwargs):
        write_synthetic_voc(kwargs['data_root'], num_train=num_train, num_val=num_val, image_size=image_size,
                            seed=seed)
        super().__init__(**kwargs)
