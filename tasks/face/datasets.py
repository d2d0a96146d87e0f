"""Face identity datasets: identity folders split per identity into a finetune set and a pretraining set.

The paper's face experiment (SPEC.md §5.1) pretrains a network on 100 VGGFace2 identities, replaces its
classifier and finetunes it on 10 other identities, one of which is then forgotten. ``FaceIdentities``
builds both sets from any ``root/<identity>/<image>`` tree (VGGFace2, ORL, Extended Yale B, the embedded
synthetic faces), holds the decoded images in memory (face sets here are small) and augments them with
albumentations, so the face evaluator can apply the same library's corruptions (blur, JPEG, brightness,
rotation) before each dataset's own pipeline.

Every image is brought to a square of ``image_size`` pixels: centre-cropped and resized, or, with
``align=dict(type='MTCNN')``, warped by the similarity transform that puts MTCNN's five landmarks on the
standard five-point template (as face recognisers are trained). Aligned crops are cached next to the data.
"""
import difflib
import inspect
import json
import os
import random
import zlib
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import albumentations as A
import cv2
import numpy as np
import torch
from albumentations.pytorch import ToTensorV2
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS

from tasks.classification.datasets import ClassificationData
from tasks.classification.transforms import IMAGENET_MEAN, IMAGENET_STD
from unlearn.errors import UnlearnError, first_line
from unlearn.registry import DATASETS

#: ArcFace's five-point template (left eye, right eye, nose tip, left and right mouth corners) in a
#: 112 x 112 crop; scaled to other crop sizes.
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)
#: Takes an RGB ``uint8 [H, W, 3]`` image, returns its face's five landmarks ``[5, 2]`` (x, y) or None.
LandmarkDetector = Callable[[np.ndarray], Optional[np.ndarray]]
PREPARE_HINT = 'python ../shared/tools/prepare_data.py data faces_yaleb'


@dataclass
class FaceData:
    """The two sets of a face experiment.

    Attributes:
        finetune: the identities the model classifies and from which one is forgotten.
        pretrain: disjoint identities for a pretraining stage (None when there is none).
        alignment: with ``align``, ``dict(aligned=n, missed=[paths])`` over the images used: the faces the
            detector missed stay centre crops, and a report should say how many.
    """

    finetune: ClassificationData
    pretrain: Optional[ClassificationData] = None
    alignment: Optional[dict] = None


class FaceImages(Dataset):
    """``uint8`` RGB images ``[N, H, W, 3]`` in memory; item ``i`` is ``(float tensor [3, H, W], label)``.

    ``transform`` is an albumentations pipeline ending in a tensor. Albumentations draws from its own random
    generators, which global seeds do not reach, so a stochastic pipeline is reseeded for every item from
    torch's global generator: an item is then reproducible under ``torch.manual_seed``, as torchvision's
    transforms are, and DataLoader workers (seeded per worker) draw different augmentations.
    """

    def __init__(self, images: np.ndarray, targets: Sequence[int], transform: A.Compose,
                 corruption: Optional[A.BasicTransform] = None) -> None:
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f'images must be uint8 [N, H, W, 3], got {images.dtype} {images.shape}')
        if len(images) != len(targets):
            raise ValueError(f'{len(images)} images but {len(targets)} targets')
        self.images, self.targets, self.transform = images, [int(t) for t in targets], transform
        self.corruption = corruption
        steps = list(transform.transforms) if corruption is None else [corruption, *transform.transforms]
        self.pipeline = A.Compose(steps)
        self.stochastic = corruption is not None or any(_is_random(step) for step in transform.transforms)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        if self.stochastic:
            seed = int(torch.randint(0, 2 ** 31 - 1, ()))
            self.pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
        return self.pipeline(image=self.images[index])['image'], self.targets[index]

    def with_corruption(self, corruption: A.BasicTransform) -> 'FaceImages':
        """The same images and labels with ``corruption`` applied to the ``uint8`` image before the pipeline."""
        return FaceImages(self.images, self.targets, self.transform, corruption)


def _is_random(step: A.BasicTransform) -> bool:
    return not isinstance(step, (A.Normalize, ToTensorV2))


def face_transforms(mean: Sequence[float], std: Sequence[float], flip: bool = False,
                    color_jitter: Optional[dict] = None) -> A.Compose:
    """Optional horizontal flip (the paper's only face augmentation, SPEC.md §4.2) and colour jitter, then
    normalisation of the ``[0, 255]`` pixels by ``mean`` / ``std`` (given in ``[0, 1]``) and CHW tensor."""
    steps = [A.HorizontalFlip(p=0.5)] if flip else []
    if color_jitter:
        steps.append(A.ColorJitter(**color_jitter))
    return A.Compose([*steps, A.Normalize(mean=tuple(mean), std=tuple(std), max_pixel_value=255.0), ToTensorV2()])


# --- decoding, cropping and alignment ---

def read_rgb(path: str) -> np.ndarray:
    """Decode any image OpenCV reads (PNG, JPEG, PGM, ...) as RGB ``uint8 [H, W, 3]``; grey is replicated."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UnlearnError(f'cannot decode image {path}: remove it or replace it with a readable image')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image: area averaging when shrinking, bilinear when enlarging (area is blocky there)."""
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The largest centred square, resized to ``size``."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resize_square(image[top:top + side, left:left + side], size)


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int) -> Optional[np.ndarray]:
    """Warp ``image`` by the similarity transform taking the five landmarks onto ArcFace's template.

    A similarity (rotation, uniform scale, shift) keeps the face's proportions, which identity depends on; a
    box crop would leave the pose in the image. None when the landmarks fit no similarity (degenerate).
    """
    template = ARCFACE_TEMPLATE * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(landmarks, np.float32).reshape(5, 2), template,
                                            method=cv2.LMEDS)
    if matrix is None:
        return None
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)


def mtcnn_detector(device: Optional[str] = None) -> LandmarkDetector:
    """facenet-pytorch's MTCNN (weights ship in its wheel): the largest face's five landmarks, or None."""
    from facenet_pytorch import MTCNN
    from PIL import Image

    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    mtcnn = MTCNN(select_largest=True, device=device)

    def detect(image: np.ndarray) -> Optional[np.ndarray]:
        _, _, points = mtcnn.detect(Image.fromarray(image), landmarks=True)
        return None if points is None else np.asarray(points[0], dtype=np.float32)

    return detect


@dataclass(frozen=True)
class FaceFile:
    """One image file of an identity under one of the roots."""

    root: str
    identity: str
    name: str

    @property
    def path(self) -> str:
        return os.path.join(self.root, self.identity, self.name)


class AlignmentCache:
    """Aligned crops of one root in ``<root>.mtcnn<size>/<identity>/<stem>.png``, so the detector runs once.

    ``alignment.json`` records which images are cached (``done``) and which the detector missed (``missed``,
    cached as centre crops). It is rewritten (atomically) after each identity, and a crop only counts as
    cached once recorded there, so an interrupted run redoes at most one identity.
    """

    def __init__(self, root: str, size: int) -> None:
        self.folder, self.size = f'{os.path.normpath(root)}.mtcnn{size}', size
        self.record_path = os.path.join(self.folder, 'alignment.json')
        self.done, self.missed = {}, set()
        if os.path.isfile(self.record_path):
            with open(self.record_path, encoding='utf-8') as f:
                record = json.load(f)
            self.done = {identity: set(names) for identity, names in record['done'].items()}
            self.missed = set(record['missed'])

    def crop_path(self, file: FaceFile) -> str:
        return os.path.join(self.folder, file.identity, os.path.splitext(file.name)[0] + '.png')

    def is_cached(self, file: FaceFile) -> bool:
        return file.name in self.done.get(file.identity, ()) and os.path.isfile(self.crop_path(file))

    def is_missed(self, file: FaceFile) -> bool:
        return f'{file.identity}/{file.name}' in self.missed

    def add(self, files: Sequence[FaceFile], detect: LandmarkDetector) -> None:
        """Detect, align and cache ``files`` (all of one identity), then record them."""
        for file in files:
            image = read_rgb(file.path)
            landmarks = detect(image)
            crop = None if landmarks is None else align_face(image, landmarks, self.size)
            key = f'{file.identity}/{file.name}'
            if crop is None:
                crop = centre_crop(image, self.size)
                self.missed.add(key)
            else:
                self.missed.discard(key)
            path = self.crop_path(file)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_png_atomically(path, crop)
            self.done.setdefault(file.identity, set()).add(file.name)
        self._save()

    def _save(self) -> None:
        cached = sum(map(len, self.done.values()))
        record = dict(size=self.size, template='arcface_112', aligned=cached - len(self.missed),
                      missed=sorted(self.missed),
                      done={identity: sorted(names) for identity, names in sorted(self.done.items())})
        temporary = f'{self.record_path}.{os.getpid()}.tmp'
        with open(temporary, 'w', encoding='utf-8') as f:
            json.dump(record, f, indent=1)
        os.replace(temporary, self.record_path)


def _write_png_atomically(path: str, image: np.ndarray) -> None:
    temporary = f'{path}.{os.getpid()}.tmp.png'
    if not cv2.imwrite(temporary, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise UnlearnError(f'cannot write {temporary}: make its folder writable')
    os.replace(temporary, path)


def load_aligned(files: Sequence[FaceFile], align_size: int, image_size: int,
                 detector: Optional[LandmarkDetector]) -> tuple[np.ndarray, dict]:
    """Aligned crops of ``files`` (detecting only what is not cached yet) and ``dict(aligned=n, missed=[...])``."""
    caches = {root: AlignmentCache(root, align_size) for root in dict.fromkeys(file.root for file in files)}
    detect = detector
    for root, cache in caches.items():
        todo = {}
        for file in files:
            if file.root == root and not cache.is_cached(file):
                todo.setdefault(file.identity, []).append(file)
        for identity_files in todo.values():
            detect = detect or mtcnn_detector()  # built only when something needs detecting
            cache.add(identity_files, detect)
    images = np.empty((len(files), image_size, image_size, 3), np.uint8)
    for i, file in enumerate(files):
        images[i] = resize_square(read_rgb(caches[file.root].crop_path(file)), image_size)
    missed = [file.path for file in files if caches[file.root].is_missed(file)]
    return images, dict(aligned=len(files) - len(missed), missed=missed)


def load_centre_crops(files: Sequence[FaceFile], image_size: int) -> np.ndarray:
    images = np.empty((len(files), image_size, image_size, 3), np.uint8)
    for i, file in enumerate(files):
        images[i] = centre_crop(read_rgb(file.path), image_size)
    return images


# --- identities and splits ---

def list_identities(roots: Sequence[str]) -> dict[str, list[FaceFile]]:
    """Every identity folder's image files, merged by identity name across ``roots``, in a fixed order."""
    identities: dict[str, list[FaceFile]] = {}
    for root in roots:
        if not os.path.isdir(root):
            raise UnlearnError(f'face image folder {root} not found: set task.dataset.root to a folder of '
                               f'<identity>/<image> folders, e.g. write data/faces_yaleb with `{PREPARE_HINT}`')
        for identity in sorted(os.listdir(root)):
            folder = os.path.join(root, identity)
            if identity.startswith('.') or not os.path.isdir(folder):
                continue
            names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMG_EXTENSIONS))
            identities.setdefault(identity, []).extend(FaceFile(root, identity, n) for n in names)
    if not identities:
        raise UnlearnError(f'no identity folders under {", ".join(roots)}: the root must hold <identity>/<image> '
                           f'folders, e.g. write data/faces_yaleb with `{PREPARE_HINT}`')
    return identities


def _check_known(names: Sequence[str], identities: dict, where: str, roots: Sequence[str]) -> None:
    for name in names:
        if name not in identities:
            close = difflib.get_close_matches(str(name), list(identities), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f'the identities are folder names under {roots[0]}'
            raise UnlearnError(f"unknown identity '{name}' in {where}: no such folder under "
                               f"{', '.join(roots)}; {hint}")


def select_identities(identities: dict[str, list[FaceFile]], roots: Sequence[str],
                      finetune: Union[None, int, Sequence[str]], pretrain: Union[None, int, str, Sequence[str]],
                      order: Optional[str], min_images: Optional[int]) -> tuple[list[str], list[str]]:
    """The finetune identities (class order) and the pretraining identities, by name or by image count."""
    if order == 'by_count':
        finetune = 10 if finetune is None else finetune
        pretrain = 100 if pretrain is None else pretrain
        min_images = 500 if min_images is None else min_images
        if not all(isinstance(n, int) and n >= 0 for n in (finetune, pretrain, min_images)) or finetune < 1:
            raise UnlearnError(f"order='by_count' takes counts: finetune >= 1, pretrain >= 0, min_images >= 0; "
                               f'got finetune={finetune!r}, pretrain={pretrain!r}, min_images={min_images!r}')
        ranked = sorted((name for name, files in identities.items() if len(files) >= min_images),
                        key=lambda name: (-len(identities[name]), name))
        if len(ranked) < pretrain + finetune:
            raise UnlearnError(f'only {len(ranked)} identities under {", ".join(roots)} have >= {min_images} '
                               f"images, but order='by_count' asks for pretrain={pretrain} + finetune={finetune}: "
                               'lower min_images, pretrain or finetune')
        return ranked[pretrain:pretrain + finetune], ranked[:pretrain]
    if order is not None:
        raise UnlearnError(f"unknown identity order {order!r}: use order='by_count' or name the identities "
                           'with finetune=[...]')
    if min_images is not None:
        raise UnlearnError("min_images applies to order='by_count' only: drop it, or set order='by_count'")
    if finetune is None:
        if pretrain is not None:
            raise UnlearnError('name the finetune identities (finetune=[...]) when pretrain is set')
        return sorted(identities), []
    if isinstance(finetune, (str, int)) or isinstance(pretrain, int):
        raise UnlearnError("finetune and pretrain are lists of identity names (or pretrain='rest'); counts "
                           "need order='by_count'")
    finetune = list(finetune)
    if len(set(finetune)) != len(finetune):
        repeated = sorted({n for n in finetune if finetune.count(n) > 1})
        raise UnlearnError(f'finetune names identities more than once: {repeated}')
    _check_known(finetune, identities, 'finetune', roots)
    if pretrain is None:
        return finetune, []
    if isinstance(pretrain, str):
        if pretrain != 'rest':
            raise UnlearnError(f"pretrain must be 'rest', a list of identity names or None, got {pretrain!r}")
        pretrain = sorted(set(identities) - set(finetune))
        if not pretrain:
            raise UnlearnError("pretrain='rest' leaves no identities: every identity is in finetune")
        return finetune, pretrain
    pretrain = list(pretrain)
    _check_known(pretrain, identities, 'pretrain', roots)
    shared = sorted(set(finetune) & set(pretrain))
    if shared:
        raise UnlearnError(f'finetune and pretrain identities overlap: {shared}; a pretraining identity must not '
                           'be one the model later classifies (or forgets)')
    return finetune, pretrain


def split_identity(identity: str, files: Sequence[FaceFile], per_identity: Optional[Sequence[int]],
                   test_fraction: float, split_seed: int,
                   roots: Sequence[str]) -> tuple[list[FaceFile], list[FaceFile]]:
    """A seeded shuffle of one identity's images cut into train / test.

    The shuffle is seeded by ``split_seed`` and the identity's name, so an identity splits the same way
    whichever other identities are selected.
    """
    if not files:
        raise UnlearnError(f"identity folder '{identity}' under {', '.join(roots)} holds no images: add images "
                           f'({", ".join(IMG_EXTENSIONS[:4])}, ...) or remove the folder')
    if per_identity is not None:
        n_train, n_test = per_identity
        if len(files) < n_train + n_test:
            raise UnlearnError(f"identity '{identity}' has {len(files)} images under {', '.join(roots)}, fewer than "
                               f'per_identity=({n_train}, {n_test}) needs: lower per_identity or leave it out')
    else:
        n_test = int(round(len(files) * test_fraction))
        n_train = len(files) - n_test
        if n_test < 1 or n_train < 1:
            raise UnlearnError(f"identity '{identity}' has {len(files)} images: too few for test_fraction="
                               f'{test_fraction} to leave one for training and one for testing; add images or '
                               'leave it out')
    order = np.random.default_rng([split_seed, zlib.crc32(identity.encode())]).permutation(len(files))
    return [files[i] for i in order[:n_train]], [files[i] for i in order[n_train:n_train + n_test]]


def _split_all(names: Sequence[str], identities: dict, per_identity, test_fraction, split_seed, roots):
    train, test, train_targets, test_targets = [], [], [], []
    for label, name in enumerate(names):
        train_files, test_files = split_identity(name, identities[name], per_identity, test_fraction, split_seed, roots)
        train += train_files
        test += test_files
        train_targets += [label] * len(train_files)
        test_targets += [label] * len(test_files)
    return train, test, train_targets, test_targets


def _check_options(per_identity, test_fraction, image_size, mean, std, align) -> tuple:
    if per_identity is not None and test_fraction is not None:
        raise UnlearnError('set per_identity=(n_train, n_test) or test_fraction, not both')
    if per_identity is not None and (len(per_identity) != 2 or per_identity[0] < 1 or per_identity[1] < 1):
        raise UnlearnError(f'per_identity must be (n_train, n_test) with both >= 1, got {per_identity}')
    test_fraction = 0.2 if test_fraction is None else test_fraction
    if not 0.0 < test_fraction < 1.0:
        raise UnlearnError(f'test_fraction must be in (0, 1), got {test_fraction}')
    if image_size < 8:
        raise UnlearnError(f'image_size must be at least 8 pixels, got {image_size}')
    mean = IMAGENET_MEAN if mean is None else tuple(mean)
    std = IMAGENET_STD if std is None else tuple(std)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise UnlearnError(f'faces are read as RGB: mean and std need 3 values (std > 0), got {mean} and {std}')
    align_size = None
    if align is not None:
        align = dict(align)
        kind, align_size = align.pop('type', None), align.pop('size', image_size)
        if kind != 'MTCNN' or align:
            raise UnlearnError(f"align must be None or dict(type='MTCNN', size=S), got {dict(type=kind, **align)}")
    return test_fraction, mean, std, align_size


def _train_transform(mean, std, flip: bool, color_jitter: Optional[dict]) -> A.Compose:
    """The training pipeline; a bad ``color_jitter`` is refused here (albumentations only warns of unknown keys)."""
    unknown = sorted(set(color_jitter or ()) - set(inspect.signature(A.ColorJitter).parameters))
    if unknown:
        raise UnlearnError(f'color_jitter has unknown keys {unknown}: use brightness, contrast, saturation, hue, p')
    try:
        return face_transforms(mean, std, flip=flip, color_jitter=color_jitter)
    except ValueError as err:  # albumentations validates values with pydantic: a header line, then the reasons
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = ' '.join(line for line in lines[1:] if not line.startswith('For further information'))
        raise UnlearnError(f'bad color_jitter {color_jitter}: {reason or first_line(err)}') from err


@DATASETS.register_module(name='FaceIdentities')
def build_face_identities(root: Union[str, Sequence[str]],
                          finetune: Union[None, int, Sequence[str]] = None,
                          pretrain: Union[None, int, str, Sequence[str]] = None,
                          *,
                          order: Optional[str] = None,
                          min_images: Optional[int] = None,
                          per_identity: Optional[Sequence[int]] = None,
                          test_fraction: Optional[float] = None,
                          split_seed: int = 0,
                          image_size: int = 112,
                          mean: Optional[Sequence[float]] = None,
                          std: Optional[Sequence[float]] = None,
                          flip: bool = True,
                          color_jitter: Optional[dict] = None,
                          align: Optional[dict] = None,
                          detector: Optional[LandmarkDetector] = None) -> FaceData:
    """Face identities from ``root/<identity>/<image>`` folders, split per identity, held in memory.

    Identities are chosen either by name (``finetune=[...]``: the class index is the position in the list;
    ``pretrain='rest'``, a list, or None) or by the official rule (``order='by_count'``, SPEC.md §5.1): the
    identities with at least ``min_images`` images (default 500) sorted by image count, descending, ties by
    name; the first ``pretrain`` (default 100) pretrain, the next ``finetune`` (default 10) are finetuned on,
    labelled in that order. The official code takes its 110 identities the same way and its pretraining set
    is the 100 largest. Its label map (SPEC.md §5.1) can be given exactly with ``finetune=[names]``.

    Args:
        root: identity folders, or a list of such roots (VGGFace2's ``train`` and ``test``), merged by name.
        finetune, pretrain, order, min_images: the identity selection above; ``finetune=None`` by name takes
            every identity in name order, without pretraining.
        per_identity: ``(n_train, n_test)`` images per identity (the official ``(400, 100)``); or
        test_fraction: share of each identity's images held out (default 0.2). The pretraining set's
            train / test split is made the same way.
        split_seed: seed of each identity's shuffle before the cut.
        image_size: side fed to the model (112 is face recognition's usual crop; the paper's ResNet-18 takes 224).
            Images are centre-cropped to a square and resized (area averaging when shrinking).
        mean, std: normalisation in [0, 1] units. Default: ImageNet's, as the paper's VGGFace pipeline
            (SPEC.md §4.2); set (0.5,) * 3 and (0.5,) * 3 for facenet's pretrained InceptionResnetV1.
        flip: random horizontal flip for training (the paper's face augmentation).
        color_jitter: keyword arguments of ``albumentations.ColorJitter`` for training, e.g.
            ``dict(brightness=0.2, contrast=0.2, p=0.5)``; None for none.
        align: ``dict(type='MTCNN', size=S)`` aligns faces by MTCNN's five landmarks (cached in
            ``<root>.mtcnn<S>``; misses stay centre crops and are listed in its ``alignment.json`` and in
            ``FaceData.alignment``); None centre-crops.
        detector: the landmark detector for ``align`` (tests pass a stub); default facenet-pytorch's MTCNN.
    """
    roots = [root] if isinstance(root, (str, os.PathLike)) else list(root)
    roots = [os.fspath(r) for r in roots]
    test_fraction, mean, std, align_size = _check_options(per_identity, test_fraction, image_size, mean, std, align)
    identities = list_identities(roots)
    finetune_names, pretrain_names = select_identities(identities, roots, finetune, pretrain, order, min_images)
    finetune_split = _split_all(finetune_names, identities, per_identity, test_fraction, split_seed, roots)
    pretrain_split = (_split_all(pretrain_names, identities, per_identity, test_fraction, split_seed, roots)
                      if pretrain_names else None)
    train_transform = _train_transform(mean, std, flip, color_jitter)
    test_transform = face_transforms(mean, std)

    files = finetune_split[0] + finetune_split[1] + (pretrain_split[0] + pretrain_split[1] if pretrain_split else [])
    alignment = None
    if align_size is None:
        images = load_centre_crops(files, image_size)
    else:
        images, alignment = load_aligned(files, align_size, image_size, detector)

    def classification_data(split, names, start):
        train_files, test_files, train_targets, test_targets = split
        train_images = images[start:start + len(train_files)]
        test_images = images[start + len(train_files):start + len(train_files) + len(test_files)]
        return ClassificationData(
            train=FaceImages(train_images, train_targets, train_transform),
            train_eval=FaceImages(train_images, train_targets, test_transform),
            test=FaceImages(test_images, test_targets, test_transform), class_names=list(names),
            train_targets=list(train_targets), test_targets=list(test_targets), mean=mean, std=std,
            image_size=image_size)

    finetune_data = classification_data(finetune_split, finetune_names, 0)
    pretrain_data = None
    if pretrain_split:
        pretrain_data = classification_data(pretrain_split, pretrain_names,
                                            len(finetune_split[0]) + len(finetune_split[1]))
    return FaceData(finetune=finetune_data, pretrain=pretrain_data, alignment=alignment)
