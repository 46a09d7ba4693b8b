"""custom_modules.data.labelme: LabelMe JSON -> masks."""
import json

import cv2
import numpy as np
import pytest

from custom_modules.common.errors import DataError
from custom_modules.data.labelme import (convert_labelme_dir, labelme_to_mask,
                                         shapes_to_mask)
from custom_modules.data.masks import read_image, read_mask


def doc(shapes, h=20, w=30, image='a.jpg'):
    return {'version': '5.0', 'shapes': shapes, 'imagePath': image,
            'imageData': None, 'imageHeight': h, 'imageWidth': w}


def shape(label, points, kind='polygon'):
    return {'label': label, 'points': points, 'shape_type': kind}


def test_shapes_are_painted_in_order():
    d = doc([shape('dog', [[2, 2], [12, 12]], 'rectangle'),
             shape('cat', [[5, 5], [9, 5], [9, 9], [5, 9]]),
             shape('ignore', [[25, 10], [25, 12]], 'circle'),
             shape('cat', [[0, 0]], 'point')])
    m = shapes_to_mask(d)
    assert m.shape == (20, 30) and m.dtype == np.uint8
    assert (m[2:13, 2:13][m[2:13, 2:13] != 1] == 2).all()
    assert (m[5:10, 5:10] == 1).all()
    assert (m == 1).sum() == 25 and (m == 2).sum() == 121 - 25
    assert m[10, 25] == 255 and (m == 255).sum() == 13  # r=2 disk
    assert m[0, 0] == 0


def test_bad_labels_and_shapes(tmp_path):
    with pytest.raises(DataError, match="x.json: unknown label 'person'"):
        shapes_to_mask(doc([shape('person', [[0, 0], [1, 1], [2, 0]])]),
                       'x.json')
    with pytest.raises(DataError, match="cannot rasterise a 'mask' shape"):
        shapes_to_mask(doc([shape('cat', [[0, 0], [3, 3]], 'mask')]), 'x.json')
    (tmp_path / 'bad.json').write_text('{"shapes": []}')
    with pytest.raises(DataError, match='bad.json: not a LabelMe file'):
        labelme_to_mask(tmp_path / 'bad.json')


def test_convert_dir_with_images_and_masks_only(tmp_path, synth):
    src = tmp_path / 'lm'
    src.mkdir()
    (src / 'a.json').write_text(json.dumps(doc(
        [shape('cat', [[2, 2], [20, 2], [20, 15], [2, 15]])])))
    photos = tmp_path / 'photos'
    photos.mkdir()
    ok, buf = cv2.imencode('.png', synth.noise_image(20, 30))
    (photos / 'a.jpg').write_bytes(buf.tobytes())  # a PNG named .jpg
    with pytest.raises(DataError, match="a.json: photo 'a.jpg' not found"):
        convert_labelme_dir(src, tmp_path / 'out')
    assert convert_labelme_dir(src, tmp_path / 'out', 'val',
                               images_dir=photos) == 1
    mask = read_mask(tmp_path / 'out' / 'labels' / 'val' / 'a.png')
    assert (mask == 1).sum() == 19 * 14
    img = tmp_path / 'out' / 'img' / 'val' / 'a.jpg'
    assert img.read_bytes()[:2] == b'\xff\xd8'
    assert read_image(img).shape == (20, 30, 3)
    with pytest.raises(DataError, match='a.png already exists'):
        convert_labelme_dir(src, tmp_path / 'out', 'val', images_dir=photos)
    convert_labelme_dir(src, tmp_path / 'out', 'val', 'labels_fixed',
                        masks_only=True)
    assert (tmp_path / 'out' / 'labels_fixed' / 'val' / 'a.png').is_file()
    cv2.imwrite(str(photos / 'a.jpg'), synth.noise_image(21, 30))
    with pytest.raises(DataError, match='is 30x21 but a.json says 30x20'):
        convert_labelme_dir(src, tmp_path / 'o2', images_dir=photos)


def test_real_labelme_agrees_with_labels_fixed(real_pets_root, tmp_path):
    src = real_pets_root / 'labelme' / 'train'
    files = sorted(src.glob('*.json'))
    assert len(files) == 8
    for path in files:
        ref = read_mask(real_pets_root / 'labels_fixed' / 'train' /
                        f'{path.stem}.png')
        agree = (labelme_to_mask(path) == ref).mean()
        assert agree >= 0.99, (path.name, agree)
    # the command path: photos from img/train, masks into a fresh root
    n = convert_labelme_dir(src, tmp_path / 'pets', 'train', 'labels_fixed',
                            images_dir=real_pets_root / 'img' / 'train')
    assert n == 8
    img = tmp_path / 'pets' / 'img' / 'train' / f'{files[0].stem}.jpg'
    assert img.read_bytes() == (real_pets_root / 'img' / 'train' /
                                img.name).read_bytes()


def test_embedded_image_data_is_used_when_photo_missing(tmp_path):
    import base64
    photo = np.zeros((20, 30, 3), np.uint8)
    photo[:, :, 1] = np.arange(30) * 8      # smooth: JPEG keeps it close
    photo[:, :, 2] = 200
    ok, buf = cv2.imencode('.png', photo)
    d = doc([shape('dog', [[0, 0], [10, 0], [10, 10]])])
    d['imageData'] = base64.b64encode(buf.tobytes()).decode()
    (tmp_path / 'lm').mkdir()
    (tmp_path / 'lm' / 'e.json').write_text(json.dumps(d))
    convert_labelme_dir(tmp_path / 'lm', tmp_path / 'out')
    img = read_image(tmp_path / 'out' / 'img' / 'train' / 'e.jpg')
    assert img.shape == (20, 30, 3)
    assert np.abs(img.astype(int) - photo).mean() < 3
    d['imageData'] = '***'
    (tmp_path / 'lm' / 'e.json').write_text(json.dumps(d))
    with pytest.raises(DataError, match='imageData is not valid base64'):
        convert_labelme_dir(tmp_path / 'lm', tmp_path / 'o2')
