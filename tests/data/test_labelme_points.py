"""LabelMe shapes whose points are not usable coordinates (issue 28):
``"points": "oops"`` was a ValueError traceback, NaN or 1e30 wrote a
garbage mask with exit 0. Like every other bad LabelMe input the
conversion stops with one line naming the JSON file and the shape, and
now before anything is written (the shapes of every file are checked
first)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from custom_modules.common.errors import DataError
from custom_modules.data.labelme import convert_labelme_dir, shapes_to_mask

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
GOOD = [[2, 2], [20, 2], [20, 15], [2, 15]]


def doc(points, label='cat', kind='polygon'):
    return {'version': '5.0', 'imagePath': 'a.jpg', 'imageData': None,
            'imageHeight': 20, 'imageWidth': 30,
            'shapes': [{'label': 'dog', 'points': GOOD,
                        'shape_type': 'polygon'},
                       {'label': label, 'points': points,
                        'shape_type': kind}]}


@pytest.mark.parametrize('points,what', [
    ('oops', "malformed points ('oops' is not a list of [x, y] pairs)"),
    ([[1, 'a'], [3, 4], [5, 6]], 'malformed points'),
    ([[1, 2, 3], [3, 4], [5, 6]], 'malformed points'),
    (None, 'malformed points (None is not a list of [x, y] pairs)'),
    ([[float('nan'), 2], [20, 2], [20, 15]],
     'a coordinate that is not a finite number'),
    ([[float('inf'), 2], [20, 2], [20, 15]],
     'a coordinate that is not a finite number'),
    ([[1e30, 2], [20, 2], [20, 15]],
     'a point far outside the 30x20 image (x=1e+30, y=2)'),
])
def test_unusable_points_name_the_file_and_shape(points, what):
    with pytest.raises(DataError) as err:
        shapes_to_mask(doc(points), 'lm/b.json')
    assert str(err.value) == f"lm/b.json: shape 2 ('cat') has {what}; " \
        'redraw it in LabelMe'


def test_points_a_little_outside_are_clipped_as_before():
    mask = shapes_to_mask(doc([[-5, -5], [40, -5], [40, 30], [-5, 30]]))
    assert (mask == 1).all()


def _write_dir(tmp_path, bad_points):
    src = tmp_path / 'lm'
    src.mkdir()
    for name, points in (('a', GOOD), ('b', bad_points), ('c', GOOD)):
        (src / f'{name}.json').write_text(json.dumps(doc(points)))
    return src


@pytest.mark.parametrize('bad', ['oops', [[float('nan'), 1], [2, 3], [4, 5]],
                                 [[1e30, 1], [2, 3], [4, 5]]])
def test_nothing_is_written_for_a_bad_file(tmp_path, bad):
    src = _write_dir(tmp_path, bad)
    out = tmp_path / 'out'
    with pytest.raises(DataError, match=r"b\.json: shape 2 \('cat'\)"):
        convert_labelme_dir(src, out, masks_only=True)
    assert not out.exists() or not any(p.is_file() for p in out.rglob('*'))


def test_prepare_data_labelme_is_one_line(tmp_path):
    src = tmp_path / 'lm'
    src.mkdir()
    data = doc('oops')
    data['shapes'][1]['points'] = 'oops'
    text = json.dumps(data)
    (src / 'b.json').write_text(text)
    (src / 'n.json').write_text(json.dumps(doc([[float('nan'), 1], [2, 3],
                                                [4, 5]])))
    proc = subprocess.run(
        [sys.executable, str(TOOLS / 'prepare_data.py'), 'labelme', str(src),
         '--masks-only', '--out', str(tmp_path / 'out')],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert errors == [f"error: {src}/b.json: shape 2 ('cat') has malformed "
                      "points ('oops' is not a list of [x, y] pairs); redraw "
                      'it in LabelMe']
    out = tmp_path / 'out'
    assert not out.exists() or not any(p.is_file() for p in out.rglob('*'))
