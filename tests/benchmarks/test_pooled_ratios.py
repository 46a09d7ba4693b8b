"""benchmarks/lib/pooled_ratios.py and its script: block ratios of several
invocations."""
import importlib.util
import json

import helpers

from benchmarks.lib.pooled_ratios import block_ratios, pooled


def _script():
    spec = importlib.util.spec_from_file_location(
        'pooled_ratios', helpers.REPO / 'benchmarks' / 'pooled_ratios.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path, rows):
    path.write_text(json.dumps(dict(machine={}, rows=rows)))
    return str(path)


def test_pools_the_blocks_of_every_file_not_their_medians(tmp_path, capsys):
    script = _script()
    a = _write(tmp_path / 'a.json', [
        dict(config='x', runner_over_bare=0.9, block=8, rounds=1,
             runner_rounds=[9.0], bare_rounds=[10.0]),
        dict(config='old', runner_over_bare=0.5)])  # no blocks: skipped
    b = _write(tmp_path / 'b.json', [
        dict(config='x', runner_over_bare=1.2, block=2, rounds=3,
             runner_rounds=[10.0, 10.0, 12.0], bare_rounds=[10.0, 8.0, 10.0])])
    result = pooled([a, b], ['x', 'old'])
    # ratios 0.9 | 1.0, 1.25, 1.2: median of the four 1.1 (the median of
    # the two files' medians, 0.9 and 1.2, would be 1.05)
    assert result['x']['pooled'] == 1.1 and result['x']['blocks'] == 4
    assert result['x']['runs'] == [(0.9, 8, 1), (1.2, 2, 3)]
    assert result['old'] == dict(runs=[], pooled=None, blocks=0)
    assert script.main([a, b, '--configs', 'x']) == 0
    assert '| x | 0.900 (8 × 1), 1.200 (2 × 3) | 1.100 | 4 |' in \
        capsys.readouterr().out


def test_block_ratios_pair_blocks_in_order():
    assert block_ratios([8.0, 16.0], [10.0, 8.0]) == [0.8, 2.0]
    assert block_ratios(None, [1.0]) == []
