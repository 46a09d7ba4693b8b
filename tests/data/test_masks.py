"""custom_modules.data.masks: mask/photo IO and label mapping."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from custom_modules.common.errors import DataError
from custom_modules.data.masks import (class_value, copy_as_rgb_jpeg,
                                       jpeg_components,
                                       read_image, read_mask, write_mask)


def test_mask_round_trip_is_exact(tmp_path):
    mask = np.random.default_rng(0).choice([0, 1, 2, 255], (17, 23)).astype(
        np.uint8)
    write_mask(tmp_path / 'a' / 'm.png', mask)
    back = read_mask(tmp_path / 'a' / 'm.png')
    assert back.dtype == np.uint8 and back.shape == (17, 23)
    np.testing.assert_array_equal(back, mask)
    assert not list((tmp_path / 'a').glob('*.tmp'))


def test_write_mask_rejects_wrong_dtype(tmp_path):
    with pytest.raises(ValueError):
        write_mask(tmp_path / 'm.png', np.zeros((4, 4), np.int32))


def test_read_mask_rejects_rgb_and_garbage(tmp_path):
    cv2.imwrite(str(tmp_path / 'rgb.png'), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match=r'rgb\.png: mask has 3 channels'):
        read_mask(tmp_path / 'rgb.png')
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    with pytest.raises(DataError, match=r'bad\.png: not a readable mask'):
        read_mask(tmp_path / 'bad.png')
    with pytest.raises(DataError, match='missing.png: cannot read'):
        read_mask(tmp_path / 'missing.png')


def test_read_image_gives_three_channels_for_gray(tmp_path):
    cv2.imwrite(str(tmp_path / 'g.jpg'), np.full((5, 7), 100, np.uint8))
    img = read_image(tmp_path / 'g.jpg')
    assert img.shape == (5, 7, 3) and img.dtype == np.uint8


def test_class_value_maps_names_and_rejects_unknown():
    assert [class_value(n, 'f') for n in ('cat', ' Dog ', 'ignore',
                                          '_background_')] == [1, 2, 255, 0]
    with pytest.raises(DataError, match="f.json: unknown label 'person'"):
        class_value('person', 'f.json')
    with pytest.raises(DataError):
        class_value('background', 'f', allow_background=False)


def _cmyk_jpeg(path: Path) -> None:
    import PIL.Image as pil  # installed with matplotlib: never skipped
    pil.fromarray(np.full((6, 8, 3), 200, np.uint8)).convert('CMYK').save(path)


def test_jpeg_components_and_copy_as_rgb_jpeg(tmp_path):
    rgb, gray, png = tmp_path / 'rgb.jpg', tmp_path / 'gray.jpg', \
        tmp_path / 'png.jpg'
    cv2.imwrite(str(rgb), np.full((6, 8, 3), 50, np.uint8))
    cv2.imwrite(str(gray), np.full((6, 8), 50, np.uint8))
    ok, buf = cv2.imencode('.png', np.full((6, 8, 3), 50, np.uint8))
    png.write_bytes(buf.tobytes())
    cmyk = tmp_path / 'cmyk.jpg'
    _cmyk_jpeg(cmyk)
    assert [jpeg_components(p.read_bytes()) for p in (rgb, gray, png, cmyk)] \
        == [3, 1, None, 4]
    for src in (rgb, gray, png, cmyk):
        dst = tmp_path / 'out' / src.name
        assert copy_as_rgb_jpeg(src, dst) == (6, 8)
        assert jpeg_components(dst.read_bytes()) == 3
    assert (tmp_path / 'out' / 'rgb.jpg').read_bytes() == rgb.read_bytes()
    with pytest.raises(DataError, match='nope.jpg: cannot read'):
        copy_as_rgb_jpeg(tmp_path / 'nope.jpg', tmp_path / 'x.jpg')


def test_the_class_schema_is_one_module_that_masks_reads():
    """Class names, mask values and colours live in ``class_schema`` only;
    ``masks`` maps labels with them and keeps no copy."""
    from custom_modules.data import class_schema, masks
    assert class_schema.CLASSES == ('background', 'cat', 'dog')
    assert len(class_schema.PALETTE) == len(class_schema.CLASSES)
    assert class_schema.VALID_VALUES == (0, 1, 2, class_schema.IGNORE_INDEX)
    assert all(class_schema.CLASSES[v] == name
               for name, v in class_schema.OBJECT_CLASSES.items())
    assert not hasattr(masks, 'CLASSES') and not hasattr(masks, 'PALETTE')
    assert masks.OBJECT_CLASSES is class_schema.OBJECT_CLASSES
    assert class_value('ignore', 'f') == class_schema.IGNORE_INDEX
