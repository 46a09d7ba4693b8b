"""The four data commands, run as a user would (subprocess, cwd = tmp)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from custom_modules.data.layout import list_pairs
from custom_modules.data.masks import read_mask, write_mask

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def run(tool: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOLS / tool), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_clean_error(proc, *needles):
    """Exit 2, one `error:` line naming the problem, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]


# prepare_data ------------------------------------------------------------

def test_prepare_course_link_and_errors(tmp_path, make_dataset):
    src = make_dataset('course')
    proc = run('prepare_data.py', 'course', src, '--out', 'data/pets',
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'labels: 3 pairs' in proc.stdout
    assert (tmp_path / 'data' / 'pets' / 'img').is_symlink()
    again = run('prepare_data.py', 'course', src, '--out', 'data/pets',
                cwd=tmp_path)
    assert_clean_error(again, 'already exists', '--overwrite')
    missing = run('prepare_data.py', 'course', tmp_path / 'nope', cwd=tmp_path)
    assert_clean_error(missing, 'nope', 'no img/ folder')


def test_prepare_coco(tmp_path, coco_src):
    ann_file, photos = coco_src
    proc = run('prepare_data.py', 'coco', '--ann', ann_file, '--images',
               photos, '--out', 'pets', '--size', '32', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(list_pairs(tmp_path / 'pets').pairs) == 7
    bad = run('prepare_data.py', 'coco', '--ann', tmp_path / 'x.json',
              '--images', photos, '--out', 'o', cwd=tmp_path)
    assert_clean_error(bad, 'x.json: cannot read')


def test_prepare_oxford(tmp_path, oxford_archives):
    img, ann = oxford_archives
    proc = run('prepare_data.py', 'oxford-pets', '--archives', img, ann,
               '--out', 'pets', '--size', '32', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'train: 4, val: 1, test: 2; skipped 2' in proc.stdout
    bad = run('prepare_data.py', 'oxford-pets', '--archives', img,
              tmp_path / 'none.tar.gz', cwd=tmp_path)
    assert_clean_error(bad, 'none.tar.gz: archive not found')


def test_prepare_labelme(tmp_path, synth):
    lm = tmp_path / 'lm'
    lm.mkdir()
    synth.write_pair(tmp_path / 'photos_root', 'train', 'a', synth.disk_mask())
    (lm / 'a.json').write_text(json.dumps({
        'shapes': [{'label': 'dog', 'shape_type': 'polygon',
                    'points': [[1, 1], [30, 1], [30, 30]]}],
        'imagePath': 'a.jpg', 'imageHeight': 64, 'imageWidth': 64}))
    photos = tmp_path / 'photos_root' / 'img' / 'train'
    proc = run('prepare_data.py', 'labelme', lm, '--images', photos,
               '--out', 'pets', '--split', 'val', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    mask = read_mask(tmp_path / 'pets' / 'labels' / 'val' / 'a.png')
    assert set(np.unique(mask)) == {0, 2}
    bad = run('prepare_data.py', 'labelme', lm, '--out', 'o', cwd=tmp_path)
    assert_clean_error(bad, 'a.json', '--images')


# coco_convert ------------------------------------------------------------

def test_coco_convert_round_trip_and_error(tmp_path, synth):
    m = synth.disk_mask(48, ((1, (10, 10), 6), (2, (30, 30), 9)))
    write_mask(tmp_path / 'masks' / 'x.png', m)
    proc = run('coco_convert.py', 'to-coco', 'masks', '--out', 'c.json',
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '1 images, 2 annotations (rle)' in proc.stdout
    proc = run('coco_convert.py', 'from-coco', 'c.json', '--out', 'back',
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(read_mask(tmp_path / 'back' / 'x.png'), m)
    (tmp_path / 'broken.json').write_text('{not json')
    bad = run('coco_convert.py', 'from-coco', 'broken.json', '--out', 'o',
              cwd=tmp_path)
    assert_clean_error(bad, 'broken.json: not valid JSON')


# check_dataset -----------------------------------------------------------

def test_check_dataset_ok_and_hard_errors(tmp_path, make_dataset):
    root = make_dataset()
    proc = run('check_dataset.py', root, '--report-dir', 'rep', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '3 masks checked in train, val; 0 hard errors' in proc.stdout
    assert (tmp_path / 'rep' / 'report.md').is_file()
    stats = json.loads((tmp_path / 'rep' / 'stats.json').read_text())['stats']
    assert stats['train']['images'] == 2
    (root / 'labels' / 'val' / 'val_000.png').unlink()
    write_mask(root / 'labels' / 'train' / 'train_000.png',
               np.full((64, 64), 4, np.uint8))
    proc = run('check_dataset.py', root, '--report-dir', 'rep',
               '--overwrite', cwd=tmp_path)
    assert proc.returncode == 1
    assert 'train_000.png: bad_values' in proc.stdout
    assert 'val_000.jpg: missing_mask' in proc.stdout
    again = run('check_dataset.py', root, '--report-dir', 'rep',
                cwd=tmp_path)
    assert_clean_error(again, 'report.md already exists')
    missing = run('check_dataset.py', tmp_path / 'nope', cwd=tmp_path)
    assert_clean_error(missing, 'nope: data root not found')


# class_weights -----------------------------------------------------------

def test_class_weights_cli(tmp_path, make_dataset):
    root = make_dataset()
    proc = run('class_weights.py', root, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith('--cfg-options model.decode_head.loss_decode.'
                                'class_weight="[')
    data = json.loads('\n'.join(lines[:-1]))
    assert data['masks'] == 2 and len(data['median']) == 3
    only = run('class_weights.py', root, '--print', 'cfg', cwd=tmp_path)
    assert only.stdout.strip() == lines[-1]
    bad = run('class_weights.py', root, '--split', 'val', cwd=tmp_path)
    assert_clean_error(bad, 'class dog has no pixels')
