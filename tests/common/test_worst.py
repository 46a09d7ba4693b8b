"""Per-image ranking, the worst-N grid and the overlap between models."""
import numpy as np

from custom_modules.common import overlay, worst


def rec(name, jaccard):
    return dict(img_path=f'/data/img/val/{name}.jpg', jaccard=jaccard,
                areas=np.zeros((3, 3), np.int64))


def test_rank_images_worst_first_ties_by_path_and_keeps_input():
    records = [rec('b', 0.5), rec('a', 0.9), rec('c', 0.1), rec('a2', 0.5)]
    ranked = worst.rank_images(records)
    assert [worst.stem(r['img_path']) for r in ranked] == ['c', 'a2', 'b', 'a']
    assert [r['rank'] for r in ranked] == [1, 2, 3, 4]
    assert 'rank' not in records[0]
    assert [worst.stem(r['img_path'])
            for r in worst.worst_n(records, 2)] == ['c', 'a2']
    assert worst.worst_n(records, 0) == []
    assert worst.row_title(ranked[0]) == 'c #1 J=0.10'


def test_worst_grid_has_four_tiles_per_row_and_scales_big_photos():
    small = np.full((32, 48, 3), 100, np.uint8)
    big = np.full((600, 900, 3), 100, np.uint8)
    mask_s = np.zeros((32, 48), np.uint8)
    mask_b = np.ones((600, 900), np.uint8)
    grid = worst.worst_grid([(small, mask_s, mask_s, 'a'),
                             (big, mask_b, 1 - mask_b, 'b')], max_side=64)
    # first row: 4 tiles of 48 wide; second scaled to 64x43 then to width
    assert grid.shape[1] == 4 * 48 and grid.dtype == np.uint8
    rows = 32 + round(43 * 4 * 48 / (4 * 64))
    legend = grid.shape[0] - rows  # the legend strip (test_legends.py)
    assert legend == overlay.legend_strip(
        4 * 48, overlay.legend_entries(errors=True)).shape[0]
    # the errors tile of row 2 is red everywhere (prediction all wrong)
    errors = grid[rows - 8:rows, 3 * 48:]  # below the tile label
    assert (errors[..., 0] > 200).mean() > 0.9


def test_overlap_report_counts_shared_worst_images():
    report = worst.overlap_report({'f0': ['a', 'b', 'c'],
                                   'f1': ['a', 'b', 'd'],
                                   'f2': ['a', 'e', 'f']})
    assert report['pairwise'] == [['f0', 'f1', 2, 0.5], ['f0', 'f2', 1, 0.2],
                                  ['f1', 'f2', 1, 0.2]]
    assert report['counts'] == {'a': 3, 'b': 2, 'c': 1, 'd': 1, 'e': 1,
                                'f': 1}
    assert report['majority'] == ['a', 'b']
    assert report['mean_pairwise_jaccard'] == 0.3
