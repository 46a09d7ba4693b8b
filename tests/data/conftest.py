"""Fixtures for the data-tooling tests.

``real_pets_root`` comes from ``tests/conftest.py``.

``make_dataset``: writes a small synthetic dataset (disks of cat/dog on
noise photos) in the configs' layout and returns its root.

``synth``: the helpers below (``disk_mask``, ``noise_image``,
``write_pair``) as a namespace, so tests need no import from conftest.

``oxford_archives`` / ``oxford_trimap``: tiny Oxford-IIIT Pet archives;
``coco_src``: a tiny COCO instances file with its photos.
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

def disk_mask(size: int = 64, disks=((1, (20, 20), 10),)) -> np.ndarray:
    """``uint8 (size, size)`` mask of filled disks ``(value, (x, y), r)``."""
    mask = np.zeros((size, size), np.uint8)
    for value, centre, radius in disks:
        cv2.circle(mask, centre, radius, int(value), thickness=-1)
    return mask


def noise_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Random BGR ``uint8`` ``(h, w, 3)`` photo."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def write_pair(root: Path, split: str, stem: str, mask: np.ndarray,
               labels_dir: str = 'labels') -> None:
    """Write ``img/<split>/<stem>.jpg`` (noise) and its mask PNG."""
    (root / 'img' / split).mkdir(parents=True, exist_ok=True)
    (root / labels_dir / split).mkdir(parents=True, exist_ok=True)
    h, w = mask.shape
    cv2.imwrite(str(root / 'img' / split / f'{stem}.jpg'),
                noise_image(h, w, hash(stem) % 1000))
    cv2.imwrite(str(root / labels_dir / split / f'{stem}.png'), mask)


@pytest.fixture
def make_dataset(tmp_path):
    """Factory: ``make_dataset(name, {split: [mask, ...]}, labels_dir)``."""
    def make(name: str = 'ds', masks: dict | None = None,
             labels_dir: str = 'labels') -> Path:
        root = tmp_path / name
        if masks is None:
            masks = {'train': [disk_mask(disks=((1, (20, 20), 10),)),
                               disk_mask(disks=((2, (40, 30), 12),))],
                     'val': [disk_mask(disks=((1, (30, 30), 8),))]}
        for split, items in masks.items():
            for i, mask in enumerate(items):
                write_pair(root, split, f'{split}_{i:03d}', mask, labels_dir)
        return root
    return make


@pytest.fixture(scope='session')
def synth() -> SimpleNamespace:
    """Synthetic-data helpers (see module docstring)."""
    return SimpleNamespace(disk_mask=disk_mask, noise_image=noise_image,
                           write_pair=write_pair)


# name, species, split; all photos 40x60 (HxW) except where noted
PETS = [('Abyssinian_1', 1, 'trainval'), ('Abyssinian_2', 1, 'trainval'),
        ('Bengal_1', 1, 'test'), ('beagle_1', 2, 'trainval'),
        ('beagle_2', 2, 'trainval'), ('beagle_3', 2, 'test'),
        ('pug_1', 2, 'trainval'), ('pug_2', 2, 'trainval')]


def trimap(h: int = 40, w: int = 60) -> np.ndarray:
    """Oxford-style trimap: 2 background, 3 border band, 1 pet."""
    t = np.full((h, w), 2, np.uint8)
    t[10:30, 20:40] = 3
    t[12:28, 22:38] = 1
    return t


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _enc(ext, array):
    ok, buf = cv2.imencode(ext, array)
    return buf.tobytes()


@pytest.fixture
def oxford_archives(tmp_path):
    """``(images.tar.gz, annotations.tar.gz)`` in the official layout, with
    a grayscale JPEG, a PNG named .jpg, an undecodable file, macOS ``._``
    files, comment lines and a photo not in list.txt."""
    lines = ['#Image CLASS-ID SPECIES BREED ID', '#ID: 1:37 Class ids']
    lines += [f'{n} {i} {s} {i}' for i, (n, s, _) in enumerate(PETS, 1)]
    ann = tmp_path / 'annotations.tar.gz'
    with tarfile.open(ann, 'w:gz') as tar:
        _add(tar, 'annotations/list.txt', '\n'.join(lines).encode())
        for split in ('trainval', 'test'):
            _add(tar, f'annotations/{split}.txt', '\n'.join(
                f'{n} 1 {s} 1' for n, s, sp in PETS if sp == split).encode())
        for n, _, _ in PETS:
            _add(tar, f'annotations/trimaps/{n}.png', _enc('.png', trimap()))
            _add(tar, f'annotations/trimaps/._{n}.png', b'\x00mac junk')
    img = tmp_path / 'images.tar.gz'
    with tarfile.open(img, 'w:gz') as tar:
        for k, (n, _, _) in enumerate(PETS):
            photo = noise_image(40, 60, k)
            if n == 'beagle_1':
                data = _enc('.jpg', photo[:, :, 0])       # grayscale JPEG
            elif n == 'beagle_2':
                data = _enc('.png', photo)                # PNG named .jpg
            elif n == 'pug_2':
                data = b'corrupt'                         # undecodable
            else:
                data = _enc('.jpg', photo)
            _add(tar, f'images/{n}.jpg', data)
        _add(tar, 'images/Abyssinian_1.mat', b'matlab')
        _add(tar, 'images/notlisted_1.jpg', _enc('.jpg', photo))
    return img, ann


@pytest.fixture(scope='session')
def oxford_trimap() -> np.ndarray:
    """The trimap every pet of ``oxford_archives`` has."""
    return trimap()


CAT, DOG, PERSON = 17, 18, 1


def rect(x, y, w, h):
    """COCO polygon of an axis-aligned rectangle."""
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def coco_ann(id_, image_id, cat, x, y, w, h, crowd=0):
    """A COCO instance annotation whose segmentation is a rectangle."""
    return {'id': id_, 'image_id': image_id, 'category_id': cat,
            'segmentation': rect(x, y, w, h), 'area': w * h,
            'bbox': [x, y, w, h], 'iscrowd': crowd}


@pytest.fixture
def coco_src(tmp_path):
    """``(instances json, photos dir)``: six 240x320 (HxW) photos with
    rectangular cat/dog instances, a person, a crowd and a tiny cat."""
    photos = tmp_path / 'photos'
    photos.mkdir()
    images, anns = [], []
    for i in range(1, 7):
        images.append({'id': i, 'file_name': f'p{i}.jpg', 'height': 240,
                       'width': 320})
        cv2.imwrite(str(photos / f'p{i}.jpg'), noise_image(240, 320, i))
        anns.append(coco_ann(100 + i, i, CAT if i % 2 else DOG,
                             40, 50, 60, 40))
    anns += [coco_ann(200, 1, DOG, 90, 60, 50, 50),       # overlaps cat 101
             coco_ann(201, 1, CAT, 250, 200, 10, 10),     # too small to crop
             coco_ann(202, 2, PERSON, 0, 0, 100, 100),    # not a pet
             coco_ann(203, 2, DOG, 200, 10, 100, 100, crowd=1)]  # no crop
    coco = {'images': images, 'annotations': anns, 'categories': [
        {'id': PERSON, 'name': 'person'}, {'id': CAT, 'name': 'cat'},
        {'id': DOG, 'name': 'dog'}]}
    path = tmp_path / 'instances_test.json'
    path.write_text(json.dumps(coco))
    return path, photos
