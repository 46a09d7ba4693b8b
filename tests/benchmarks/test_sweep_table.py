"""benchmarks/sweep_table.py: row names, merging of several sweep files,
the seed columns and means, the TTA/vote gains over all runs."""
import json

from benchmarks import sweep_table


def _row(variant, seed, plain, flip=None, dog=None):
    row = dict(variant=variant, seed=seed, iters=100, options=[],
               plain=dict(mDice=plain, **({'Dice.dog': dog} if dog else {})))
    if flip is not None:
        row['flip'] = dict(mDice=flip)
    return row


def _write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps(dict(config='c.py', rows=rows)))
    return str(path)


def test_names_say_encoder_crop_learning_rate_and_change():
    assert sweep_table.describe('l0_256') == 'Lite0, 256, peak 1e-3'
    assert sweep_table.describe('l1_320_lr5e-4') == 'Lite1, 320, peak 5e-4'
    assert sweep_table.describe('l0_256_unfrozen') == \
        'Lite0, 256, peak 1e-3, every stage trained'
    assert sweep_table.describe('mine') == 'mine'


def test_seeds_from_two_files_share_a_row_with_their_mean(tmp_path):
    first = _write(tmp_path, 'a.json', [_row('l0_256', 42, 80.0, 81.0, 60.0),
                                        _row('l2_320', 42, 70.0)])
    second = _write(tmp_path, 'b.json', [_row('l0_256', 1, 84.0, 83.0, 64.5)])
    text = sweep_table.table(sweep_table.load_rows([first, second]))
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[2] == ('| Lite0, 256, peak 1e-3 | 100 | 80.00 / 84.00 | '
                        '82.00 | 81.00 / 83.00 | – / – | – / – | '
                        '60.00 / 64.50 |')
    assert lines[3].startswith('| Lite2, 320, peak 1e-3 | 100 | 70.00 / – '
                               '| – |')


def test_a_later_file_replaces_the_same_run(tmp_path):
    old = _write(tmp_path, 'old.json', [_row('l0_256', 1, 50.0)])
    new = _write(tmp_path, 'new.json', [_row('l0_256', 1, 60.0)])
    rows = sweep_table.load_rows([old, new])
    assert [r['plain']['mDice'] for r in rows] == [60.0]


def test_gains_span_every_run_that_has_both_tests():
    rows = [_row('a', 42, 80.0, 82.0), _row('a', 1, 80.0, 79.0),
            _row('b', 42, 70.0)]
    assert sweep_table.gains(rows) == {
        'flip': dict(runs=2, min=-1.0, max=2.0, mean=0.5)}
