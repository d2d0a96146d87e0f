"""Face identity data: selection, per-identity splits, pipelines, corruptions, MTCNN alignment, synthetic faces.

Built on tiny identity folders written into tmp_path; the ORL check runs on ../shared/data when present.
"""
import json
import os
import subprocess
import sys

import albumentations as A
import cv2
import numpy as np
import pytest
import torch

from tasks.classification.transforms import IMAGENET_MEAN, IMAGENET_STD
from tasks.face.datasets import ARCFACE_TEMPLATE, build_face_identities, centre_crop, read_rgb
from tasks.face.synthetic import build_synthetic_faces
from unlearn.errors import UnlearnError
from unlearn.registry import DATASETS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), 'shared')


def write_identities(root, counts: dict, shape=(20, 24), grey=False):
    """``root/<identity>/<i>.png``; identity k's pixels sit around 20 + 20 k, image i adds noise seeded by (k, i)."""
    for k, (identity, count) in enumerate(counts.items()):
        os.makedirs(os.path.join(root, identity), exist_ok=True)
        for i in range(count):
            rng = np.random.default_rng([k, i])
            image = 20 + 20 * k + rng.integers(0, 10, shape + (() if grey else (3,)))
            cv2.imwrite(os.path.join(root, identity, f'{i}.png'), image.astype(np.uint8))
    return str(root)


def identity_of(image: np.ndarray) -> int:
    """Invert :func:`write_identities`' brightness code."""
    return int(round((image.mean() - 24.5) / 20))


def one_line_error(match: str, **kwargs) -> str:
    with pytest.raises(UnlearnError, match=match) as error:
        build_face_identities(**kwargs)
    message = str(error.value)
    assert '\n' not in message
    return message


# --- identity selection ---

def test_finetune_order_is_the_class_order_and_rest_pretrains(tmp_path):
    root = write_identities(tmp_path, {name: 5 for name in 'abcdef'})
    data = build_face_identities(root, finetune=['c', 'a'], pretrain='rest', per_identity=(3, 2), image_size=16)
    assert data.finetune.class_names == ['c', 'a'] and data.pretrain.class_names == ['b', 'd', 'e', 'f']
    assert not set(data.finetune.class_names) & set(data.pretrain.class_names)
    names = 'abcdef'
    for split in (data.finetune.train, data.finetune.test):
        assert [names[identity_of(image)] for image in split.images] == [['c', 'a'][t] for t in split.targets]
    pretrain, pretrain_names = data.pretrain.train, data.pretrain.class_names
    assert [names[identity_of(image)] for image in pretrain.images] == [pretrain_names[t] for t in pretrain.targets]
    assert data.alignment is None


def test_finetune_alone_has_no_pretraining_and_none_takes_every_identity(tmp_path):
    root = write_identities(tmp_path, {name: 5 for name in 'cab'})
    assert build_face_identities(root, finetune=['b'], image_size=16).pretrain is None
    assert build_face_identities(root, image_size=16).finetune.class_names == ['a', 'b', 'c']


def test_by_count_takes_the_largest_identities_pretraining_first(tmp_path):
    root = write_identities(tmp_path, dict(a=9, b=12, c=12, d=5, e=10, f=3))
    data = build_face_identities(root, order='by_count', min_images=5, pretrain=2, finetune=2, per_identity=(3, 2),
                                 image_size=16)
    # by count, descending, ties by name: b 12, c 12 | e 10, a 9 | d 5; f is below min_images
    assert data.pretrain.class_names == ['b', 'c'] and data.finetune.class_names == ['e', 'a']
    assert len(data.finetune.train) == 6 and len(data.pretrain.test) == 4


def test_roots_are_merged_by_identity_name(tmp_path):
    first = write_identities(tmp_path / 'train', dict(a=3, b=4))
    second = write_identities(tmp_path / 'test', dict(a=3, c=4))
    assert build_face_identities([first, second], image_size=16).finetune.class_names == ['a', 'b', 'c']
    merged = build_face_identities([first, second], finetune=['a'], per_identity=(4, 2), image_size=16).finetune
    assert (len(merged.train), len(merged.test)) == (4, 2)  # 3 + 3 images under the two roots


# --- splits ---

def test_per_identity_split_counts_and_split_seed(tmp_path):
    root = write_identities(tmp_path, {name: 8 for name in 'abc'})

    def build(seed):
        return build_face_identities(root, finetune=['a', 'b'], pretrain=['c'], per_identity=(5, 2),
                                     split_seed=seed, image_size=16)

    data = build(0)
    assert data.finetune.train_targets == [0] * 5 + [1] * 5 and data.finetune.test_targets == [0] * 2 + [1] * 2
    assert (len(data.pretrain.train), len(data.pretrain.test)) == (5, 2)
    train, test = data.finetune.train.images, data.finetune.test.images
    assert not any(np.array_equal(a, b) for a in train for b in test)
    assert np.array_equal(build(0).finetune.test.images, test)
    assert not np.array_equal(build(1).finetune.test.images, test)


def test_test_fraction_split(tmp_path):
    root = write_identities(tmp_path, dict(a=10, b=10))
    data = build_face_identities(root, test_fraction=0.3, image_size=16)
    assert (len(data.finetune.train), len(data.finetune.test)) == (14, 6)
    assert data.finetune.train_targets == [int(t) for t in data.finetune.train.targets]


# --- pipelines ---

def test_items_are_normalised_three_channel_tensors(tmp_path):
    root = write_identities(tmp_path, dict(a=4, b=4), shape=(30, 20), grey=True)
    data = build_face_identities(root, per_identity=(2, 2), image_size=16).finetune
    assert (data.mean, data.std, data.image_size) == (IMAGENET_MEAN, IMAGENET_STD, 16)
    assert data.test.images.shape == (4, 16, 16, 3) and data.test.images.dtype == np.uint8
    for dataset in (data.train, data.train_eval, data.test):
        image, label = dataset[0]
        assert image.shape == (3, 16, 16) and image.dtype == torch.float32 and isinstance(label, int)
    image = data.test.images[0]
    assert np.array_equal(image[..., 0], image[..., 2])  # grey replicated
    expected = (torch.from_numpy(image).permute(2, 0, 1) / 255 - torch.tensor(IMAGENET_MEAN)[:, None, None]) \
        / torch.tensor(IMAGENET_STD)[:, None, None]
    assert torch.allclose(data.test[0][0], expected, atol=1e-5)
    half = build_face_identities(root, per_identity=(2, 2), image_size=16, mean=(0.5,) * 3, std=(0.5,) * 3)
    assert torch.allclose(half.finetune.test[0][0], torch.from_numpy(image).permute(2, 0, 1) / 127.5 - 1, atol=1e-5)


def test_centre_crop_takes_the_middle_square(tmp_path):
    image = np.zeros((40, 20, 3), np.uint8)
    image[10:30] = 255
    assert centre_crop(image, 20).min() == 255 and centre_crop(image, 10).shape == (10, 10, 3)


def test_flip_only_in_training_and_reproducible_under_torch_seed(tmp_path):
    root = tmp_path / 'faces'
    for identity in 'ab':
        os.makedirs(root / identity)
        for i in range(3):
            image = np.zeros((16, 16, 3), np.uint8)
            image[:, :5] = 200 + i  # left-heavy: a flip moves it right
            cv2.imwrite(str(root / identity / f'{i}.png'), image)
    data = build_face_identities(str(root), per_identity=(2, 1), image_size=16).finetune
    clean = data.train_eval[0][0]
    flips = []
    for seed in range(16):
        torch.manual_seed(seed)
        image = data.train[0][0]
        flips.append(torch.equal(image, clean.flip(-1)))
        assert flips[-1] or torch.equal(image, clean)
        torch.manual_seed(seed)
        assert torch.equal(data.train[0][0], image)
    assert any(flips) and not all(flips)
    for seed in range(4):
        torch.manual_seed(seed)
        assert torch.equal(data.train_eval[0][0], clean) and torch.equal(data.test[0][0], data.test[0][0])
    no_flip = build_face_identities(str(root), per_identity=(2, 1), image_size=16, flip=False).finetune
    assert all(torch.equal(no_flip.train[0][0], clean) for _ in range(8))


def test_with_corruption_changes_pixels_keeps_labels_and_is_seeded(tmp_path):
    root = write_identities(tmp_path, dict(a=4, b=4), shape=(24, 24))
    test = build_face_identities(root, per_identity=(2, 2), image_size=24).finetune.test
    rotated = test.with_corruption(A.Rotate(limit=(30, 30), p=1.0))
    assert rotated.images is test.images and rotated.targets == test.targets and isinstance(rotated.targets, list)
    assert [rotated[i][1] for i in range(len(test))] == test.targets
    assert not torch.equal(rotated[0][0], test[0][0])
    assert torch.equal(test[0][0], test.transform(image=test.images[0])['image'])  # the original is untouched
    brightness = test.with_corruption(A.RandomBrightnessContrast(brightness_limit=0.4, contrast_limit=0.0, p=1.0))
    draws = []
    for seed in (0, 0, 1, 2, 3):
        torch.manual_seed(seed)
        draws.append(brightness[0][0])
    assert torch.equal(draws[0], draws[1]) and not all(torch.equal(draws[0], draw) for draw in draws[2:])


def test_color_jitter_applies_to_training_only(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3))
    data = build_face_identities(root, per_identity=(2, 1), image_size=16, flip=False,
                                 color_jitter=dict(brightness=0.5, p=1.0)).finetune
    assert any(isinstance(t, A.ColorJitter) for t in data.train.transform.transforms)
    assert not any(isinstance(t, A.ColorJitter) for t in data.test.transform.transforms)
    assert not torch.equal(data.train[0][0], data.train_eval[0][0])


def test_registered_builder(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3))
    data = DATASETS.build(dict(type='FaceIdentities', root=root, per_identity=(2, 1), image_size=16))
    assert data.finetune.num_classes == 2


# --- bad input: one line that says what is wrong and how to fix it ---

def test_missing_root(tmp_path):
    message = one_line_error('not found', root=str(tmp_path / 'nowhere'))
    assert 'prepare_data.py data faces_yaleb' in message


def test_root_without_identity_folders(tmp_path):
    one_line_error('no identity folders', root=str(tmp_path))


def test_too_few_images_for_per_identity(tmp_path):
    root = write_identities(tmp_path, dict(a=5, b=3))
    message = one_line_error("identity 'b' has 3 images", root=root, per_identity=(2, 2))
    assert 'per_identity=(2, 2)' in message


def test_overlapping_finetune_and_pretrain(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3, c=3))
    one_line_error(r"overlap: \['b'\]", root=root, finetune=['a', 'b'], pretrain=['b', 'c'])


def test_unknown_identity_suggests_the_closest_name(tmp_path):
    root = write_identities(tmp_path, dict(n000123=3, n000456=3))
    one_line_error("unknown identity 'n00123' in finetune.*did you mean 'n000123'", root=root, finetune=['n00123'])


def test_fewer_identities_than_the_rule_asks_for(tmp_path):
    root = write_identities(tmp_path, dict(a=6, b=6, c=2))
    one_line_error(r"only 2 identities .* have >= 5 images, but order='by_count' asks for pretrain=2 \+ finetune=1",
                   root=root, order='by_count', min_images=5, pretrain=2, finetune=1)


def test_empty_identity_folder(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3))
    os.makedirs(tmp_path / 'empty')
    one_line_error("identity folder 'empty' .* holds no images", root=root)


def test_bad_color_jitter(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3))
    one_line_error(r"color_jitter has unknown keys \['brightnes'\]", root=root, color_jitter=dict(brightnes=0.2))


# --- MTCNN alignment with a stub detector ---

ALIGN_SIZE = 56
#: Where the stub puts the template's points in the source image: scale 1.5, 12 degrees, shifted.
SOURCE_ANGLE, SOURCE_SCALE, SOURCE_SHIFT = np.deg2rad(12), 1.5, np.array([14.0, 9.0])


def source_landmarks() -> np.ndarray:
    rotation = SOURCE_SCALE * np.array([[np.cos(SOURCE_ANGLE), -np.sin(SOURCE_ANGLE)],
                                        [np.sin(SOURCE_ANGLE), np.cos(SOURCE_ANGLE)]])
    return (ARCFACE_TEMPLATE * ALIGN_SIZE / 112) @ rotation.T + SOURCE_SHIFT


def write_dotted_faces(root) -> None:
    """Faces whose eyes are bright discs at the stub's landmarks; ``a/1.png`` is faint, so the stub misses it."""
    for identity in 'ab':
        os.makedirs(root / identity)
        for i in range(3):
            image = np.full((110, 96, 3), 30, np.uint8)
            if (identity, i) == ('a', 1):
                image[:, :48] = 90  # no face: the detector returns None
            else:
                for x, y in source_landmarks()[:2]:
                    cv2.circle(image, (round(x * 16), round(y * 16)), 4 * 16, (255, 255, 255), -1, cv2.LINE_AA, 4)
            cv2.imwrite(str(root / identity / f'{i}.png'), image)


class StubDetector:
    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return source_landmarks() if image.max() > 200 else None


def centroid(image: np.ndarray, x: float, y: float, radius: int = 7) -> np.ndarray:
    top, left = int(round(y)) - radius, int(round(x)) - radius
    window = image[top:top + 2 * radius + 1, left:left + 2 * radius + 1, 0].astype(np.float64)
    window = np.clip(window - 30, 0, None)
    ys, xs = np.mgrid[top:top + 2 * radius + 1, left:left + 2 * radius + 1]
    return np.array([(xs * window).sum(), (ys * window).sum()]) / window.sum()


def test_mtcnn_alignment_puts_the_eyes_on_the_template_and_caches(tmp_path):
    root = tmp_path / 'faces'
    write_dotted_faces(root)
    detector = StubDetector()
    kwargs = dict(per_identity=(2, 1), image_size=ALIGN_SIZE, align=dict(type='MTCNN', size=ALIGN_SIZE))
    data = build_face_identities(str(root), detector=detector, **kwargs)
    assert detector.calls == 6
    cache = tmp_path / f'faces.mtcnn{ALIGN_SIZE}'
    crop = read_rgb(str(cache / 'a' / '0.png'))
    for eye in ARCFACE_TEMPLATE[:2] * ALIGN_SIZE / 112:
        assert np.abs(centroid(crop, *eye) - eye).max() < 1.0
    images = np.concatenate([data.finetune.train.images, data.finetune.test.images])
    assert any(np.array_equal(crop, image) for image in images)

    missed = str(root / 'a' / '1.png')
    assert data.alignment == dict(aligned=5, missed=[missed])
    record = json.loads((cache / 'alignment.json').read_text())
    assert record['missed'] == ['a/1.png'] and record['aligned'] == 5
    fallback = centre_crop(read_rgb(missed), ALIGN_SIZE)
    assert np.array_equal(read_rgb(str(cache / 'a' / '1.png')), fallback)
    assert any(np.array_equal(fallback, image) for image in images)

    def no_detection(image):
        raise AssertionError('the cache should have been read')

    again = build_face_identities(str(root), detector=no_detection, **kwargs)
    assert again.alignment == data.alignment
    assert np.array_equal(again.finetune.train.images, data.finetune.train.images)


def test_bad_align_option(tmp_path):
    root = write_identities(tmp_path, dict(a=3, b=3))
    one_line_error("align must be None or dict.type='MTCNN', size=S.", root=root, align=dict(type='RetinaFace'))


# --- the embedded synthetic faces ---

def test_synthetic_faces_are_written_once_and_deterministic(tmp_path):
    names = [f'person_{i:02d}' for i in range(4)]
    data = build_synthetic_faces(root=str(tmp_path / 'one'), finetune=names, pretrain='rest', per_identity=(28, 12))
    assert data.finetune.class_names == names and len(data.pretrain.class_names) == 12
    assert (len(data.finetune.train), len(data.finetune.test)) == (4 * 28, 4 * 12)
    assert data.finetune.test[0][0].shape == (3, 32, 32)

    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
                      if f.endswith('.png'))

    written = files(tmp_path / 'one')
    assert len(written) == 16 * 40 and len({os.path.dirname(f) for f in written}) == 16
    stamps = {f: os.stat(tmp_path / 'one' / f).st_mtime_ns for f in written}
    build_synthetic_faces(root=str(tmp_path / 'one'))
    assert {f: os.stat(tmp_path / 'one' / f).st_mtime_ns for f in written} == stamps
    assert [p.name for p in tmp_path.iterdir()] == ['one']  # no staging folder left behind

    build_synthetic_faces(root=str(tmp_path / 'two'))
    assert all((tmp_path / 'one' / f).read_bytes() == (tmp_path / 'two' / f).read_bytes() for f in written)
    with pytest.raises(UnlearnError, match='made with'):
        build_synthetic_faces(root=str(tmp_path / 'one'), seed=1)
    with pytest.raises(UnlearnError, match='made with'):  # another palette count is another dataset
        build_synthetic_faces(root=str(tmp_path / 'one'), palettes=16)
    with pytest.raises(UnlearnError, match='palettes >= 1'):
        build_synthetic_faces(root=str(tmp_path / 'three'), palettes=0)


# --- real data ---

@pytest.mark.slow
@pytest.mark.skipif(not os.path.isfile(os.path.join(SHARED, 'data', 'faces_orl.npz')),
                    reason='../shared/data/faces_orl.npz is absent')
def test_orl_prepared_by_prepare_data(tmp_path):
    subprocess.run([sys.executable, os.path.join(SHARED, 'tools', 'prepare_data.py'), str(tmp_path), 'faces_orl'],
                   check=True, capture_output=True)
    root = str(tmp_path / 'faces_orl')
    identities = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    assert len(identities) == 40
    data = build_face_identities(root, finetune=identities[:10], pretrain='rest', per_identity=(7, 3),
                                 image_size=64)
    assert (len(data.finetune.train), len(data.finetune.test)) == (70, 30)
    assert (len(data.pretrain.train), len(data.pretrain.test)) == (210, 90)
    assert data.finetune.train[0][0].shape == (3, 64, 64)
    image = data.finetune.test.images[0]
    assert np.array_equal(image[..., 0], image[..., 1]) and image.std() > 10  # grey faces, not blank
    pytest.importorskip('facenet_pytorch')
    aligned = build_face_identities(root, finetune=identities[:2], per_identity=(7, 3), image_size=64,
                                    align=dict(type='MTCNN', size=64))
    assert aligned.alignment['aligned'] >= 18  # ORL's frontal faces: MTCNN finds (nearly) all
    assert os.path.isfile(tmp_path / 'faces_orl.mtcnn64' / 'alignment.json')
