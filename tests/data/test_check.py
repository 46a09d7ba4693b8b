"""custom_modules.data.check / stats / report."""
import json

import cv2
import numpy as np
import pytest

from custom_modules.data.check import Thresholds, check_dataset, count_holes
from custom_modules.common.errors import DataError
from custom_modules.data.report import write_report
from custom_modules.data.stats import dataset_stats, split_stats


def test_hard_errors_name_each_file(make_dataset, synth):
    root = make_dataset(masks={'train': [synth.disk_mask()]})
    tr = root / 'img' / 'train'
    lb = root / 'labels' / 'train'
    cv2.imwrite(str(tr / 'orphan.jpg'), synth.noise_image(8, 8))
    cv2.imwrite(str(lb / 'lonely.png'), np.zeros((8, 8), np.uint8))
    synth.write_pair(root, 'train', 'broken', synth.disk_mask())
    (tr / 'broken.jpg').write_bytes(b'garbage')
    synth.write_pair(root, 'train', 'small', synth.disk_mask())
    cv2.imwrite(str(lb / 'small.png'), np.zeros((32, 32), np.uint8))
    synth.write_pair(root, 'train', 'values', np.full((64, 64), 9, np.uint8))
    synth.write_pair(root, 'train', 'rgbmask', synth.disk_mask())
    cv2.imwrite(str(lb / 'rgbmask.png'), np.zeros((64, 64, 3), np.uint8))
    result = check_dataset(root)
    got = sorted((e.kind, e.path.rsplit('/', 1)[-1]) for e in result.errors)
    assert got == [('bad_values', 'values.png'),
                   ('missing_image', 'lonely.png'),
                   ('missing_mask', 'orphan.jpg'),
                   ('size_mismatch', 'small.png'),
                   ('unreadable_image', 'broken.jpg'),
                   ('unreadable_mask', 'rgbmask.png')]
    assert not result.ok
    # a pair with a hard error (broken.jpg's, too) is left out of the stats
    assert sorted(r.stem for r in result.records) == ['train_000']


def test_soft_findings(make_dataset, synth):
    many = synth.disk_mask(64, tuple((1, (8 + 10 * i, 10), 3)
                                     for i in range(6)))
    tiny = synth.disk_mask(64, ((1, (30, 30), 10),))
    tiny[60, 60] = 2
    bar = np.zeros((64, 64), np.uint8)
    bar[10:12, 5:45] = 2
    holed = synth.disk_mask(64, ((2, (30, 30), 15),))
    holed[28:32, 28:32] = 0
    masks = {'empty': np.zeros((64, 64), np.uint8),
             'full': np.ones((64, 64), np.uint8), 'many': many,
             'tiny': tiny, 'bar': bar, 'holed': holed,
             'clean': synth.disk_mask()}
    root = make_dataset(masks={})
    for stem, m in masks.items():
        synth.write_pair(root, 'train', stem, m)
    result = check_dataset(root, thresholds=Thresholds())
    assert result.ok
    got = sorted((f.path.rsplit('/', 1)[-1][:-4], f.kind)
                 for f in result.findings)
    assert got == [('bar', 'extreme_aspect'), ('empty', 'empty'),
                   ('full', 'full'), ('holed', 'holes'),
                   ('many', 'many_components'), ('tiny', 'tiny_components')]
    hole = next(f for f in result.findings if f.kind == 'holes')
    assert '16 px' in hole.detail


def test_count_holes_ignores_gaps_to_the_border_and_other_classes():
    m = np.zeros((20, 20), np.uint8)
    m[2:10, 2:10] = 1
    m[4:6, 4:6] = 0          # a real hole: 4 px
    m[7:9, 7:9] = 2          # a dog inside the cat: not a hole
    m[12:20, 12:18] = 1
    m[15:20, 14:16] = 0      # notch open to the border: not a hole
    assert count_holes(m, 1) == [4]
    assert count_holes(m, 2) == []


def test_stats_match_hand_counts(make_dataset, synth):
    a = np.zeros((10, 10), np.uint8)
    a[:2] = 1                # 20 cat px, 1 instance
    a[5:7, 5:7] = 1          # 4 cat px, 2nd instance
    b = np.zeros((10, 10), np.uint8)
    b[:5] = 2                # 50 dog
    b[9] = 255               # 10 ignore
    root = make_dataset(masks={'train': [a, b]})
    result = check_dataset(root)
    s = dataset_stats(result.records)
    assert s['images'] == 2 and s['ignore_pixels'] == 10
    assert s['classes']['cat']['pixel_share'] == pytest.approx(24 / 190)
    assert s['classes']['dog']['pixel_share'] == pytest.approx(50 / 190)
    assert s['classes']['background']['pixel_share'] == \
        pytest.approx(116 / 190)
    assert s['classes']['cat']['images'] == 1
    assert s['classes']['cat']['instances_per_image'] == pytest.approx(1.0)
    assert s['classes']['cat']['instances_per_image_present'] == 2.0
    assert s['object_area_px']['count'] == 3
    assert s['object_area_px']['p0'] == 4 and s['object_area_px']['p100'] == 50


def test_real_data_shares_match_direct_count(real_pets_root, tmp_path):
    result = check_dataset(real_pets_root, 'labels')
    assert result.ok and result.splits == ['train', 'val']
    stats = split_stats(result.records, result.splits)
    for split in ('train', 'val'):
        counts = np.zeros(256, np.int64)
        files = sorted((real_pets_root / 'labels' / split).glob('*.png'))
        for p in files:
            counts += np.bincount(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                                  .ravel(), minlength=256)
        assert stats[split]['images'] == len(files)
        for cls, name in enumerate(('background', 'cat', 'dog')):
            assert stats[split]['classes'][name]['pixel_share'] == \
                pytest.approx(counts[cls] / counts.sum(), abs=1e-12)
    # the real-data README: train background 90.8 %, cat 5.0 %, dog 4.2 %
    train = [100 * stats['train']['classes'][c]['pixel_share']
             for c in ('background', 'cat', 'dog')]
    assert train == pytest.approx([90.8, 5.0, 4.2], abs=0.05)
    out = write_report(result, stats, tmp_path / 'rep')
    payload = json.loads((out / 'stats.json').read_text())
    assert payload['stats']['train']['classes']['cat']['pixel_share'] == \
        stats['train']['classes']['cat']['pixel_share']
    assert '| train | 198 | cat |' in (out / 'report.md').read_text()
    for png in ('class_balance.png', 'area_hist.png'):
        assert (out / png).read_bytes()[:4] == b'\x89PNG'
    with pytest.raises(DataError, match='report.md already exists'):
        write_report(result, stats, tmp_path / 'rep')
    (out / 'notes.txt').write_text('mine')
    write_report(result, stats, out, overwrite=True)
    assert (out / 'notes.txt').read_text() == 'mine'
