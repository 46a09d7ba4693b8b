"""custom_modules.data.coco: masks <-> COCO JSON (CVAT round trip)."""
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from custom_modules.data.coco import (coco_to_masks, mask_annotations,
                                      masks_to_coco)
from custom_modules.common.errors import DataError
from custom_modules.data.masks import read_mask, write_mask

pytestmark = pytest.mark.filterwarnings(  # pycocotools vs numpy 2
    "ignore:__array__ implementation:DeprecationWarning")


def tricky_masks(synth) -> dict[str, np.ndarray]:
    """Masks with several pieces, a hole, touching classes, an empty one."""
    a = synth.disk_mask(64, ((1, (20, 20), 12), (2, (45, 45), 10),
                             (1, (55, 10), 3)))
    a[18:23, 18:23] = 0                 # hole in the cat
    a[30:34, 5:60] = 2                  # a dog bar touching nothing else
    b = synth.disk_mask(64, ((2, (32, 32), 20), (1, (32, 32), 6)))  # nested
    b[0, 0] = 1                         # one-pixel piece
    c = np.zeros((40, 50), np.uint8)    # empty, other size
    return {'a': a, 'b': b, 'c': c}


def _write(folder, masks):
    for stem, m in masks.items():
        write_mask(folder / f'{stem}.png', m)


def test_rle_round_trip_is_exact(tmp_path, synth):
    masks = tricky_masks(synth)
    _write(tmp_path / 'in', masks)
    n = masks_to_coco(tmp_path / 'in', tmp_path / 'c.json')
    coco = json.loads((tmp_path / 'c.json').read_text())
    assert n == {'images': 3, 'annotations': len(coco['annotations'])}
    assert [c['name'] for c in coco['categories']] == ['cat', 'dog']
    assert [i['file_name'] for i in coco['images']] == ['a.jpg', 'b.jpg',
                                                        'c.jpg']
    # a: cat disk, small cat disk; dog disk, dog bar -> 4; b: 2 cat + 1 dog
    assert n['annotations'] == 7
    assert coco_to_masks(tmp_path / 'c.json', tmp_path / 'out') == 3
    for stem, m in masks.items():
        np.testing.assert_array_equal(read_mask(tmp_path / 'out' /
                                                f'{stem}.png'), m)


def test_round_trip_with_ignore_category(tmp_path, synth):
    m = synth.disk_mask(32, ((1, (10, 10), 5),))
    m[25:, 25:] = 255
    _write(tmp_path / 'in', {'x': m})
    masks_to_coco(tmp_path / 'in', tmp_path / 'c.json', with_ignore=True)
    coco_to_masks(tmp_path / 'c.json', tmp_path / 'out')
    np.testing.assert_array_equal(read_mask(tmp_path / 'out' / 'x.png'), m)


def test_annotations_have_exact_area_and_bbox(synth):
    m = np.zeros((20, 30), np.uint8)
    m[2:6, 3:10] = 2
    (ann,) = mask_annotations(m, image_id=7, first_id=11)
    assert ann['id'] == 11 and ann['image_id'] == 7
    assert ann['category_id'] == 2 and ann['area'] == 28
    assert ann['bbox'] == [3, 2, 7, 4]
    assert mask_utils.decode(ann['segmentation']).sum() == 28


def test_polygon_export_is_close(tmp_path, synth):
    masks = tricky_masks(synth)
    _write(tmp_path / 'in', masks)
    masks_to_coco(tmp_path / 'in', tmp_path / 'p.json', fmt='polygon')
    coco = json.loads((tmp_path / 'p.json').read_text())
    assert all(isinstance(a['segmentation'], list) and
               all(len(p) >= 6 for p in a['segmentation'])
               for a in coco['annotations'])
    coco_to_masks(tmp_path / 'p.json', tmp_path / 'out')
    for stem, m in masks.items():
        agree = (read_mask(tmp_path / 'out' / f'{stem}.png') == m).mean()
        assert agree > 0.95, stem  # outlines only: holes are lost


def test_import_cvat_style_uncompressed_rle_and_names(tmp_path):
    """CVAT writes masks as uncompressed RLE, its own category ids and
    file names with folders; values must come from category names."""
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:9] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    counts = [] ; val = 0
    flat = m.ravel(order='F')
    run = 0
    for v in flat:  # uncompressed RLE: alternating run lengths from 0s
        if v != val:
            counts.append(run); run = 0; val = v
        run += 1
    counts.append(run)
    coco = {'images': [{'id': 5, 'file_name': 'train/q.jpg', 'height': 10,
                        'width': 12}],
            'annotations': [
                {'id': 1, 'image_id': 5, 'category_id': 9, 'iscrowd': 1,
                 'area': 18, 'segmentation': {'size': [10, 12],
                                              'counts': counts}},
                {'id': 2, 'image_id': 5, 'category_id': 3, 'iscrowd': 0,
                 'area': 4, 'segmentation': [[0, 0, 2, 0, 2, 2, 0, 2]]}],
            'categories': [{'id': 3, 'name': 'Dog'}, {'id': 9, 'name': 'cat'}]}
    assert mask_utils.decode(rle).sum() == 18
    (tmp_path / 'c.json').write_text(json.dumps(coco))
    coco_to_masks(tmp_path / 'c.json', tmp_path / 'out')
    out = read_mask(tmp_path / 'out' / 'q.png')
    assert (out[2:5, 3:9] == 1).all() and (out[:2, :2] == 2).all()
    assert set(np.unique(out)) == {0, 1, 2}


def test_errors(tmp_path, synth):
    with pytest.raises(DataError, match='no \\*.png masks found'):
        masks_to_coco(tmp_path, tmp_path / 'c.json')
    _write(tmp_path / 'in', {'a': synth.disk_mask()})
    (tmp_path / 'c.json').write_text('{}')
    with pytest.raises(DataError, match='c.json already exists'):
        masks_to_coco(tmp_path / 'in', tmp_path / 'c.json')
    with pytest.raises(DataError, match='not a COCO instances file'):
        coco_to_masks(tmp_path / 'c.json', tmp_path / 'out')
    bad = {'images': [], 'annotations': [],
           'categories': [{'id': 1, 'name': 'person'}]}
    (tmp_path / 'p.json').write_text(json.dumps(bad))
    with pytest.raises(DataError, match="unknown label 'person'"):
        coco_to_masks(tmp_path / 'p.json', tmp_path / 'out')
    masks_to_coco(tmp_path / 'in', tmp_path / 'c.json', overwrite=True)
    coco_to_masks(tmp_path / 'c.json', tmp_path / 'out')
    with pytest.raises(DataError, match='a.png already exists'):
        coco_to_masks(tmp_path / 'c.json', tmp_path / 'out')


def test_real_labels_rle_round_trip(tmp_path, real_pets_root):
    src = real_pets_root / 'labels_fixed' / 'val'
    masks_to_coco(src, tmp_path / 'c.json')
    assert coco_to_masks(tmp_path / 'c.json', tmp_path / 'out') == 120
    for p in sorted(src.glob('*.png')):
        np.testing.assert_array_equal(read_mask(tmp_path / 'out' / p.name),
                                      read_mask(p))
