"""``tools/compare.py`` on a run whose ``run_summary.json`` or
``test_results*.json`` is truncated (issue 28): was a JSONDecodeError
traceback; now one warning naming the file, and the run is still compared
with those fields empty."""
import json

import pytest

from custom_modules.tools import compare


def _run(root, name, summary=None, results=None):
    work = root / name
    vis = work / '20240101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    vis.joinpath('scalars.json').write_text('\n'.join(json.dumps(r) for r in [
        {'step': 1, 'train/loss': 1.0, 'train/lr': 0.1},
        {'step': 2, 'train/loss': 0.5, 'train/lr': 0.1},
        {'step': 2, 'val/mJaccard': 40.0}]) + '\n')
    if summary is not None:
        (work / 'run_summary.json').write_text(summary)
    if results is not None:
        (work / 'test_results.json').write_text(results)
    return work


FULL = json.dumps({'train_seconds': 12.5, 'stopped_early': False,
                   'stop_reason': None})


@pytest.mark.parametrize('damaged', [FULL[:20], '', '[1, 2]'])
def test_truncated_run_summary_is_one_warning(tmp_path, capsys, damaged):
    work = _run(tmp_path, 'a', summary=damaged)
    summary = compare.summarize_run(str(work))
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines()
                if line.startswith('warning:')]
    assert warnings == [
        f'warning: {work}/run_summary.json: unreadable (truncated or not a '
        'JSON object), its summary fields are left empty; rerun or remove '
        'it']
    assert summary['run'] == 'a' and summary['iters'] == 2
    assert summary['stopped_early'] is None


def test_truncated_test_results_is_one_warning(tmp_path, capsys):
    work = _run(tmp_path, 'a', summary=FULL, results='{"metrics": {"mJac')
    summary = compare.summarize_run(str(work))
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith('warning:')
            ] == [f'warning: {work}/test_results.json: unreadable (truncated '
                  'or not a JSON object), its test columns are left empty; '
                  'run tools/test.py again']
    assert summary['test'] == {} and summary['train_seconds'] == 12.5


def test_compare_still_compares_both_runs(tmp_path, capsys):
    good = _run(tmp_path, 'good', summary=FULL)
    bad = _run(tmp_path, 'bad', summary=FULL[:20])
    out = tmp_path / 'cmp'
    assert compare.main([str(good), str(bad), '--out', str(out)]) == 0
    runs = json.loads((out / 'compare.json').read_text())['runs']
    assert [r['run'] for r in runs] == ['good', 'bad']
    assert 'Traceback' not in capsys.readouterr().err
