"""custom_modules.data.coco_crops: the dataset from a COCO instances file."""
import cv2
import numpy as np
import pytest

from custom_modules.data.coco_crops import prepare_from_coco, square_box
from custom_modules.common.errors import DataError
from custom_modules.data.layout import list_pairs
from custom_modules.data.masks import read_image, read_mask

pytestmark = pytest.mark.filterwarnings(  # pycocotools vs numpy 2
    'ignore:__array__ implementation:DeprecationWarning')

def test_square_box_stays_inside():
    assert square_box([40, 50, 60, 40], 240, 320, margin=0.1) == (34, 34, 72)
    x0, y0, side = square_box([300, 200, 20, 40], 240, 320, margin=0.5)
    assert side == 80 and x0 + side <= 320 and y0 + side <= 240
    assert square_box([0, 0, 400, 300], 240, 320) == (80, 0, 240)


def test_prepare_from_coco(tmp_path, coco_src):
    ann_file, photos = coco_src
    out = tmp_path / 'pets'
    counts = prepare_from_coco(ann_file, photos, out, size=64, margin=0.1,
                               min_area=200, fractions=(0.5, 0.25, 0.25))
    pairs = list_pairs(out).pairs
    stems = sorted(p.stem for p in pairs)
    assert stems == sorted([f'{i:012d}_{100 + i}' for i in range(1, 7)]
                           + ['000000000001_200'])
    assert counts == {s: sum(p.split == s for p in pairs)
                      for s in ('train', 'val', 'test')}
    assert [counts['val'] + counts['test'] > 0, counts['train'] > 0] == \
        [True, True]
    # crops of one photo stay in one split
    split_of_photo1 = {p.split for p in pairs
                       if p.stem.startswith('000000000001_')}
    assert len(split_of_photo1) == 1
    for p in pairs:
        assert read_image(p.image).shape == (64, 64, 3)
        assert read_mask(p.mask).shape == (64, 64)
    m = read_mask(next(p.mask for p in pairs if p.stem.endswith('_101')))
    # the crop of cat 101 also shows part of dog 200, labelled dog
    assert set(np.unique(m)) == {0, 1, 2}
    m2 = read_mask(next(p.mask for p in pairs if p.stem.endswith('_102')))
    assert set(np.unique(m2)) == {0, 2}   # photo 2's person is background
    # a cat box of 60x40 with 10% margin -> 72 px square -> 64: the cat
    # covers (60*40)/(72*72) of the crop
    m3 = read_mask(next(p.mask for p in pairs if p.stem.endswith('_103')))
    assert abs((m3 == 1).mean() - 2400 / 72 ** 2) < 0.03


def test_prepare_from_coco_is_deterministic(tmp_path, coco_src):
    ann_file, photos = coco_src
    a = prepare_from_coco(ann_file, photos, tmp_path / 'a', size=32, seed=1)
    b = prepare_from_coco(ann_file, photos, tmp_path / 'b', size=32, seed=1)
    la = [(p.split, p.stem) for p in list_pairs(tmp_path / 'a').pairs]
    lb = [(p.split, p.stem) for p in list_pairs(tmp_path / 'b').pairs]
    assert a == b and la == lb


def test_prepare_from_coco_errors(tmp_path, coco_src):
    ann_file, photos = coco_src
    (photos / 'p3.jpg').unlink()
    with pytest.raises(DataError, match=r'p3\.jpg: photo not found'):
        prepare_from_coco(ann_file, photos, tmp_path / 'o', size=32)
    with pytest.raises(DataError, match='no cat/dog instance'):
        prepare_from_coco(ann_file, photos, tmp_path / 'o', min_area=1e9)
    cv2.imwrite(str(photos / 'p3.jpg'), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(DataError, match='p3.jpg: photo is 10x10'):
        prepare_from_coco(ann_file, photos, tmp_path / 'o', size=32)


def test_refuses_output_that_holds_the_photos(tmp_path, coco_src):
    ann_file, photos = coco_src
    inside = tmp_path / 'ds' / 'img' / 'all'
    inside.parent.mkdir(parents=True)
    photos.rename(inside)
    with pytest.raises(DataError, match='photos are inside the output'):
        prepare_from_coco(ann_file, inside, tmp_path / 'ds', size=32,
                          overwrite=True)
    assert len(list(inside.glob('*.jpg'))) == 6
