"""Classification datasets and transforms, on scikit-learn's digits and on tiny generated image folders."""
import os
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

import tasks  # noqa: F401  (registers the dataset builders)
from tasks.classification.datasets import InMemoryImages
from tasks.classification.transforms import (CIFAR10_MEAN, CIFAR10_STD, DIGITS_MEAN, DIGITS_STD,
                                             build_transforms)
from unlearn.registry import DATASETS


@pytest.fixture(scope='module')
def digits():
    return DATASETS.build(dict(type='Digits'))


def _write_image(path, size=8, seed=0, mode='RGB', fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size, size, 3) if mode == 'RGB' else (size, size)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, format=fmt)


def _image_folders(root, train_classes=('cat', 'dog'), test_classes=('cat', 'dog'), size=8):
    for split, classes, per_class in (('train', train_classes, 3), ('test', test_classes, 2)):
        for c, name in enumerate(classes):
            for i in range(per_class):
                seed = 100 * (split == 'test') + 10 * c + i
                _write_image(os.path.join(root, split, name, f'{i}.png'), size, seed=seed)


def _stack(dataset):
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


# --- digits (the embedded quick-start data) ---

def test_digits_split_is_fixed_stratified_and_complete(digits):
    from sklearn.datasets import load_digits
    all_counts = Counter(load_digits().target.tolist())
    train, test = Counter(digits.train_targets), Counter(digits.test_targets)
    assert (len(digits.train), len(digits.test)) == (1437, 360)
    assert train + test == all_counts
    assert all(abs(test[c] - 0.2 * all_counts[c]) <= 1 for c in range(10))
    again = DATASETS.build(dict(type='Digits'))
    assert again.train_targets == digits.train_targets and torch.equal(again.test.images, digits.test.images)
    other = DATASETS.build(dict(type='Digits', split_seed=1))
    assert not torch.equal(other.test.images, digits.test.images)


def test_digits_metadata(digits):
    assert digits.class_names == ['zero', 'one', 'two', 'three', 'four',
                                  'five', 'six', 'seven', 'eight', 'nine']
    assert digits.num_classes == 10 and digits.image_size == 8
    assert (digits.mean, digits.std) == (DIGITS_MEAN, DIGITS_STD)
    x, y = digits.train[0]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and isinstance(y, int)


def test_digits_normalisation_constants_are_the_training_split_statistics(digits):
    pixels = digits.train.images.float() / 255
    assert pixels.mean().item() == pytest.approx(DIGITS_MEAN[0], abs=1e-4)
    assert pixels.std().item() == pytest.approx(DIGITS_STD[0], abs=1e-3)


def test_train_eval_is_train_in_the_same_order_without_augmentation(digits):
    assert digits.train.targets == digits.train_eval.targets == digits.train_targets
    assert digits.train.images is digits.train_eval.images
    clean = _stack(digits.train_eval)
    assert torch.equal(clean, _stack(digits.train_eval))
    expected = (digits.train.images.float() / 255 - DIGITS_MEAN[0]) / DIGITS_STD[0]
    assert torch.allclose(clean, expected, atol=1e-6)
    torch.manual_seed(0)
    augmented = _stack(digits.train)
    assert augmented.shape == clean.shape
    changed = (augmented != clean).flatten(1).any(1).float().mean().item()
    assert 0.5 < changed < 1.0  # a 1 px padded crop keeps the image in 1/9 of the draws


def test_digits_are_never_flipped(digits):
    assert not any(isinstance(t, T.RandomHorizontalFlip) for t in digits.train.transform.transforms)


def test_digits_resize_and_no_augmentation_options():
    data = DATASETS.build(dict(type='Digits', image_size=16, augment=False))
    assert data.train[0][0].shape == (1, 16, 16) and data.image_size == 16
    assert torch.equal(data.train[5][0], data.train_eval[5][0])


# --- transforms ---

def test_transforms_accept_pil_and_uint8_tensors_alike():
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    pil, tensor = Image.fromarray(array), torch.from_numpy(array).permute(2, 0, 1).contiguous()
    for image_size in (32, 48):
        test_transform = build_transforms(CIFAR10_MEAN, CIFAR10_STD, image_size, 32, augment=False)
        assert torch.equal(test_transform(pil), test_transform(tensor))
        assert test_transform(tensor).shape == (3, image_size, image_size)
    train_transform = build_transforms(CIFAR10_MEAN, CIFAR10_STD, 48, 32, augment=True)
    torch.manual_seed(1)
    from_pil = train_transform(pil)
    torch.manual_seed(1)
    assert torch.equal(from_pil, train_transform(tensor)) and from_pil.shape == (3, 48, 48)


def test_train_transform_is_flip_crop_resize_normalise_in_the_official_order():
    steps = build_transforms(CIFAR10_MEAN, CIFAR10_STD, 224, 32, augment=True).transforms
    names = [type(s).__name__ for s in steps[1:]]
    assert names == ['RandomHorizontalFlip', 'RandomCrop', 'Resize', 'ConvertImageDtype', 'Normalize']
    assert steps[2].padding == 4 and steps[2].size == (32, 32)


# --- image folders ---

def test_image_folder_splits_on_disk_and_in_memory_agree(tmp_path):
    _image_folders(tmp_path)
    cfg = dict(type='ImageFolderSplits', root=str(tmp_path), image_size=8, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    on_disk, in_memory = DATASETS.build(cfg), DATASETS.build(dict(cfg, in_memory=True))
    assert on_disk.class_names == in_memory.class_names == ['cat', 'dog']
    assert on_disk.train_targets == in_memory.train_targets == [0, 0, 0, 1, 1, 1]
    assert on_disk.test_targets == [0, 0, 1, 1] and on_disk.mean == CIFAR10_MEAN
    assert isinstance(in_memory.train, InMemoryImages) and in_memory.train.images.dtype == torch.uint8
    for split in ('train_eval', 'test'):
        assert torch.equal(_stack(getattr(on_disk, split)), _stack(getattr(in_memory, split)))
    torch.manual_seed(0)
    assert _stack(in_memory.train).shape == (6, 3, 8, 8)


def test_image_folder_splits_resize_to_native_then_image_size(tmp_path):
    _image_folders(tmp_path, size=10)
    cfg = dict(type='ImageFolderSplits', root=str(tmp_path), image_size=16, native_size=8)
    data, in_memory = DATASETS.build(cfg), DATASETS.build(dict(cfg, in_memory=True))
    assert data.train[0][0].shape == data.test[0][0].shape == (3, 16, 16)
    assert torch.equal(_stack(data.test), _stack(in_memory.test))
    assert data.mean == (0.485, 0.456, 0.406)  # ImageNet's by default


def test_image_folder_splits_keep_the_first_images_of_each_class(tmp_path):
    _image_folders(tmp_path)
    cfg = dict(type='ImageFolderSplits', root=str(tmp_path), image_size=8, in_memory=True)
    full, subset = DATASETS.build(cfg), DATASETS.build(dict(cfg, per_class=(2, 1)))
    assert subset.train_targets == [0, 0, 1, 1] and subset.test_targets == [0, 1]
    assert torch.equal(subset.train.images, full.train.images[[0, 1, 3, 4]])
    assert torch.equal(subset.test.images, full.test.images[[0, 2]])
    assert DATASETS.build(dict(cfg, per_class=(50, 50))).train_targets == full.train_targets
    for bad in ((2,), (0, 1), (2, 1.5), (True, 1), 3):
        with pytest.raises(ValueError, match="per_class must be"):
            DATASETS.build(dict(cfg, per_class=bad))


def test_image_folder_splits_reject_mismatched_classes(tmp_path):
    _image_folders(tmp_path, test_classes=('cat', 'dog', 'bird'))
    with pytest.raises(ValueError, match='bird'):
        DATASETS.build(dict(type='ImageFolderSplits', root=str(tmp_path), image_size=8))


def test_image_folder_splits_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        DATASETS.build(dict(type='ImageFolderSplits', root=str(tmp_path / 'nowhere'), image_size=8))


# --- torchvision CIFAR and Tiny ImageNet ---

@pytest.mark.parametrize('kind,folder', [('CIFAR10', 'cifar-10-batches-py'),
                                         ('CIFAR100', 'cifar-100-python')])
def test_missing_cifar_is_one_clear_line(tmp_path, kind, folder):
    root = str(tmp_path / 'data' / kind.lower())
    with pytest.raises(FileNotFoundError) as info:
        DATASETS.build(dict(type=kind, root=root))
    message = str(info.value)
    assert root in message and folder in message and 'download=True' in message and '\n' not in message


def _tiny_imagenet(root):
    wnids = ['n02', 'n01']
    for c, wnid in enumerate(wnids):
        for i in range(2):
            _write_image(os.path.join(root, 'train', wnid, 'images', f'{wnid}_{i}.JPEG'), 16, seed=c * 10 + i,
                         mode='L' if i else 'RGB', fmt='JPEG')
        with open(os.path.join(root, 'train', wnid, f'{wnid}_boxes.txt'), 'w') as f:
            f.write(f'{wnid}_0.JPEG\t0\t0\t10\t10\n')
    with open(os.path.join(root, 'words.txt'), 'w') as f:
        f.write('n00\tentity\nn01\tgoldfish, Carassius auratus\nn02\ttabby, tabby cat\n')
    os.makedirs(os.path.join(root, 'val', 'images'))
    with open(os.path.join(root, 'val', 'val_annotations.txt'), 'w') as f:
        for i, wnid in enumerate(['n02', 'n01', 'n01']):
            _write_image(os.path.join(root, 'val', 'images', f'val_{i}.JPEG'), 16, seed=100 + i, fmt='JPEG')
            f.write(f'val_{i}.JPEG\t{wnid}\t0\t0\t8\t8\n')


def test_tiny_imagenet_layout(tmp_path):
    _tiny_imagenet(tmp_path)
    data = DATASETS.build(dict(type='TinyImageNet', root=str(tmp_path)))
    assert data.class_names == ['goldfish', 'tabby']  # sorted wnids n01, n02
    assert data.train_targets == [0, 0, 1, 1] and data.test_targets == [1, 0, 0]
    assert data.train_eval[1][0].shape == data.test[0][0].shape == (3, 64, 64)  # grayscale JPEG -> RGB
    assert data.image_size == 64 and data.mean == (0.4802, 0.4481, 0.3975)
    os.remove(tmp_path / 'words.txt')
    assert DATASETS.build(dict(type='TinyImageNet', root=str(tmp_path))).class_names == ['n01', 'n02']


def test_missing_tiny_imagenet_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='tiny-imagenet-200'):
        DATASETS.build(dict(type='TinyImageNet', root=str(tmp_path / 'tiny-imagenet-200')))
