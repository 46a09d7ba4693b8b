"""Throughput benchmark helpers: markdown sections, table, one tiny config."""
import ast

import pytest
import torch
from mmengine.config import Config

from benchmarks.lib import inference_speed, throughput as tp

import helpers


def test_replace_section_rewrites_only_between_markers(tmp_path):
    doc = tmp_path / 'bench.md'
    doc.write_text('# Title\n\nintro\n')
    tp.replace_section(str(doc), 'speed', 'table v1')
    tp.replace_section(str(doc), 'other', 'kept')
    tp.replace_section(str(doc), 'speed', 'table v2\n')
    text = doc.read_text()
    assert text.startswith('# Title\n\nintro\n')
    assert 'table v1' not in text
    assert '<!-- speed:start -->\ntable v2\n<!-- speed:end -->' in text
    assert '<!-- other:start -->\nkept\n<!-- other:end -->' in text


def test_markdown_table_has_one_row_per_config():
    row = dict(config='cpu_fast', batch=8, runner_train=9.5, bare_train=10.0,
               runner_over_bare=0.95, runner_test=40.0, runner_test_tta=20.5,
               tta_time_ratio=1.951, peak_rss_mb=900)
    flops = dict(train_dtype='bfloat16', train_gflop_per_img=12.345,
                 train_gflops=117.28)
    measured = tp.with_peak(dict(row, **flops), {'bfloat16': 400.0})
    assert measured['train_pct_of_peak'] == 29.3  # 117.28 / 400
    measured['cpu'] = tp.cpu_label(dict(cpu='AMD EPYC', bf16_native=False))
    table = tp.markdown_table([measured, dict(row, config='unet')])
    lines = table.strip().splitlines()
    assert len(lines) == 4
    head = [c.strip() for c in lines[0].strip('|').split('|')]
    assert head[6:9] == ['train GFLOP/img', 'train GFLOP/s (runner)',
                         '% of matmul peak']
    assert all(line.count('|') == lines[0].count('|') for line in lines)
    assert lines[2].startswith('| cpu_fast | AMD EPYC, no bf16 | 8 | 9.50 | '
                               '10.00 | 0.950 | 12.35 | 117.3 | '
                               '29.3 (bfloat16) | 40.00 |')
    assert lines[2].endswith('| 1.951 | 900 |')
    # a row from a run before FLOPs were counted
    assert lines[3].startswith('| unet | – | 8 | 9.50 | 10.00 | 0.950 | – '
                               '| – | – | 40.00 |')


def test_peak_needs_the_rows_dtype():
    row = dict(train_dtype='float32', train_gflops=10.0)
    assert 'train_pct_of_peak' not in tp.with_peak(row, {'bfloat16': 400.0})
    assert tp.with_peak(row, {'float32': 200.0})['train_pct_of_peak'] == 5.0


def test_machine_header_names_the_matmul_peak():
    machine = tp.machine_info({'bfloat16': 812.34, 'float32': 190.0})
    assert machine['matmul_peak_gflops'] == {'bfloat16': 812.34,
                                             'float32': 190.0}
    header = tp.machine_header(machine)
    assert header.splitlines()[0].startswith('Measured on ')
    assert header.splitlines()[1] == (
        f"Matmul peak (2048x2048, {machine['torch_threads']} torch threads):"
        " bfloat16 812.3 GFLOP/s, float32 190.0 GFLOP/s.")
    assert 'Matmul' not in tp.machine_header(tp.machine_info())


def test_matmul_peaks_one_per_dtype(monkeypatch):
    from benchmarks.lib import step_cost
    calls = []
    monkeypatch.setattr(step_cost, 'matmul_gflops', lambda dtype, size:
                        calls.append((dtype, size)) or 100.0)
    peaks = tp.matmul_peaks(['float32', 'bfloat16', 'float32'])
    assert peaks == {'bfloat16': 100.0, 'float32': 100.0}
    assert sorted(calls, key=str) == [(torch.bfloat16, 2048),
                                      (torch.float32, 2048)]


def test_measure_tiny_config(tiny_pets, tmp_path, own_signal_handlers):
    # (the runner's InterruptHook catches signals for a training that the
    # benchmark steps by hand: no after_run gives them back)
    cfg = tp.prepared_config('configs/pets/resnet18_unet.py',
                             str(tiny_pets), work_dir=str(tmp_path))
    tiny = dict(a.split('=', 1) for a in helpers.TINY_RESNET18_UNET)
    for key, value in tiny.items():
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        cfg.merge_from_dict({key: value})
    cfg.train_dataloader.batch_size = 2
    cfg.val_dataloader.batch_size = 1  # 4 val images: 2 timed batches
    row = tp.measure_config(cfg, block=3, blocks=1, test_images=4,
                            test_rounds=2, warmup_iters=2)
    assert row['batch'] == 2
    assert row['runner_train'] > 0 and row['bare_train'] > 0
    assert row['runner_over_bare'] == pytest.approx(
        row['runner_train'] / row['bare_train'], rel=0.01)
    # two rounds: the median is the mean of the two per-round ratios
    assert row['test_rounds'] == 2
    assert row['tta_time_ratio_min'] <= row['tta_time_ratio'] <= \
        row['tta_time_ratio_max']
    assert row['tta_time_ratio'] == pytest.approx(
        (row['tta_time_ratio_min'] + row['tta_time_ratio_max']) / 2,
        abs=0.002)
    assert row['peak_rss_mb'] > 100
    assert row['train_dtype'] == 'float32'  # resnet18_unet: no autocast
    assert row['train_gflop_per_img'] > 0
    assert row['train_gflops'] == pytest.approx(
        row['train_gflop_per_img'] * row['runner_train'], rel=0.01)


def test_ratio_is_the_median_of_alternating_blocks(monkeypatch):
    """Runner and bare loop take turns in blocks of one run; the ratio is
    the per-block median, with its range, not a ratio of two separately
    noisy figures."""
    runner_s = [1.0, 0.5, 0.8]  # s/iteration, batch 8: 8, 16, 10 img/s
    bare_s = [0.8, 0.8, 0.4]  # 10, 10, 20 img/s
    monkeypatch.setattr(tp, 'alternating_seconds',
                        lambda cfg, **kw: (runner_s, bare_s))
    monkeypatch.setattr(tp, 'plain_and_tta_rates', lambda cfg, images,
                        rounds: dict(plain=[20.0, 30.0, 24.0],
                                     tta=[10.0, 10.0, 12.5]))
    monkeypatch.setattr(tp, 'train_step_flops', lambda cfg: 3e9)
    cfg = Config(dict(train_dataloader=dict(batch_size=8),
                      optim_wrapper=dict(type='OptimWrapper'),
                      custom_hooks=[]))
    row = tp.measure_config(cfg, block=4, blocks=3, test_rounds=3)
    # ratios 0.8, 1.6, 0.5 -> median 0.8; runner median 10, bare median 10
    assert row['runner_over_bare'] == 0.8
    assert (row['runner_over_bare_min'], row['runner_over_bare_max']) == \
        (0.5, 1.6)
    assert row['rounds'] == 3
    assert (row['runner_rounds'], row['bare_rounds']) == \
        ([8.0, 16.0, 10.0], [10.0, 10.0, 20.0])
    assert (row['train_gflop_per_img'], row['train_gflops']) == (3.0, 30.0)
    # TTA: per-round ratios 2.0, 3.0, 1.92 -> median 2.0; img/s medians
    assert (row['tta_time_ratio'], row['tta_time_ratio_min'],
            row['tta_time_ratio_max']) == (2.0, 1.92, 3.0)
    assert (row['runner_test'], row['runner_test_tta']) == (24.0, 10.0)
    line = tp.markdown_table([dict(row, config='x')]).splitlines()[2]
    assert '| 0.800 (0.50-1.60, 3 blocks of 4) |' in line
    assert '| 2.000 (1.92-3.00, 3 rounds) |' in line
    del row['block']  # a row from before the blocks: separate runs
    line = tp.markdown_table([dict(row, config='x')]).splitlines()[2]
    assert '| 0.800 (0.50-1.60, 3 rounds) |' in line


def test_plain_and_tta_take_turns_in_swapped_order():
    """Neither side always runs first: a drift within a round (warming up,
    a neighbour's load) cannot favour one of them every time."""
    calls = []

    def run(name, rate):
        return lambda: calls.append(name) or rate

    rates = inference_speed.take_turns(
        dict(plain=run('plain', 20.0), tta=run('tta', 10.0)), rounds=3)
    assert calls == ['plain', 'tta', 'tta', 'plain', 'plain', 'tta']
    assert rates == dict(plain=[20.0] * 3, tta=[10.0] * 3)
