"""Training and inference speed of a config: the project's runner against a
bare PyTorch loop on the same model and tensors (benchmarks/throughput.py).

Per config, in a fresh process (so peak memory is that config's):
- ``runner_train``: steady-state img/s of ``Runner.train()`` with the
  config's data pipeline, workers and hooks (validation and checkpoints
  off), timed after warm-up iterations in blocks that alternate with the
  bare loop inside the same run (:mod:`.alternating`); median of the blocks.
- ``bare_train``: img/s (median of the blocks) of ``loss = model(x,
  samples, mode='loss'); backward; AdamW step`` on one preprocessed batch,
  reused (channels_last and bfloat16 autocast as the runner's model).
- ``runner_over_bare``: median of the per-block ratios (``_min``/``_max``:
  their range); ``runner_rounds`` / ``bare_rounds``: img/s of each block.
- ``page_faults_per_iter``: ``runner`` / ``bare``, the mean page faults
  of a timed iteration of each (:func:`.alternating.page_faults`: pages
  the kernel zeroes and maps in on first touch).
- ``loader_wait_ms``: mean milliseconds a timed runner iteration waited for
  its batch (first round; mmengine's ``data_time``).
- ``hook_ms``: each hook's milliseconds per timed training iteration
  (:class:`~benchmarks.lib.hook_costs.HookCosts`).
- ``phase_ms``: milliseconds per step of each phase (preprocess, forward,
  backward, optimizer) of the runner's and the bare loop's timed steps
  (:class:`~benchmarks.lib.phase_costs.PhaseCosts`).
- ``runner_test`` / ``runner_test_tta``: img/s of ``Runner.test()`` on the
  val split, plain and with the flip TTA wrapper (``tools/test.py --tta``),
  in the precision ``tools/test.py`` uses (channels_last and bfloat16 as
  the config trains, :func:`inference.runner_inference_precision`); the
  two take turns in ``test_rounds`` rounds (:mod:`.inference_speed`), each
  figure the median of its rounds.
- ``tta_time_ratio``: median over the rounds of TTA time / plain time
  (``_min``/``_max``: their range).
- ``peak_rss_mb``: the process's peak resident memory.
- ``train_gflop_per_img``: FLOPs (GFLOP) of one training step's forward +
  backward pass per image (:func:`step_cost.train_step_flops`: matrix
  products and convolutions only); ``train_gflops``: that times
  ``runner_train``, the GFLOP/s the runner achieves; ``train_dtype``: the
  dtype its convolutions run in.
- ``peak_gflops`` / ``train_pct_of_peak``: the GFLOP/s of 2048x2048 matrix
  products in ``train_dtype`` (:func:`step_cost.matmul_gflops`, measured
  once per run by the parent process, :func:`with_peak`) and
  ``train_gflops`` as a percentage of it.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import platform
import resource
import statistics
import tempfile
import time
from typing import List, Optional, Sequence

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
import torch
from mmengine.config import Config

from .alternating import alternating_seconds
from .hook_costs import HookCosts
from .inference_speed import plain_and_tta_rates
from .phase_costs import PhaseCosts
from .pooled_ratios import block_ratios
from .step_cost import (MATMUL_SIZE, adamw_for, bare_batch,
                        bare_step, matmul_peaks, train_dtype,
                        train_step_flops)


def bare_train_images_per_second(cfg: Config, iters: int = 8, skip: int = 1,
                                 max_seconds: float = 45.0,
                                 channels_last: bool = False,
                                 autocast: Optional[torch.dtype] = None
                                 ) -> float:
    """img/s of a plain PyTorch training loop on one real batch, reused.

    Median step time over ``iters`` steps after ``skip`` (fewer, but at
    least 3, once ``max_seconds`` have passed). ``channels_last`` puts the
    model and the batch in that memory format; ``autocast`` (a dtype) runs
    the forward pass under ``torch.autocast`` on the CPU.
    """
    batch = bare_batch(cfg, channels_last=channels_last)
    optimizer = adamw_for(cfg, batch.model)
    times: List[float] = []
    while len(times) < skip + iters:
        start = time.perf_counter()
        bare_step(batch, optimizer, autocast)
        times.append(time.perf_counter() - start)
        timed = times[skip:]
        if len(timed) >= 3 and sum(timed) >= max_seconds:
            break
    return batch.size / statistics.median(times[skip:])


def measure_config(cfg: Config, block: int = 8, blocks: int = 5,
                   test_images: int = 48, test_rounds: int = 5,
                   warmup_iters: int = 30) -> dict:
    """All speed figures of one prepared config (see the module docstring).

    The runner and the bare loop take turns in ``blocks`` blocks of
    ``block`` iterations inside one training run
    (:func:`.alternating.alternating_seconds`), after a warm-up of
    ``warmup_iters`` iterations (30 of batch 8 cover the 198 pets training
    images once, so cached images are all decoded) or 60 s, whichever ends
    first; ``runner_over_bare`` is the median of the per-block ratios, with
    their min and max. Plain and flip-TTA inference take turns in
    ``test_rounds`` rounds over ``test_images`` val images
    (:func:`.inference_speed.plain_and_tta_rates`); ``tta_time_ratio`` is
    the median of the per-round ratios, with their min and max.
    """
    batch = cfg.train_dataloader.batch_size
    costs, phases = HookCosts(), PhaseCosts()
    waits: List[float] = []
    faults: dict = {}
    runner_s, bare_s = alternating_seconds(
        cfg, block=block, blocks=blocks, warmup_iters=warmup_iters,
        costs=costs, waits=waits, phases=phases, faults=faults)
    runners = [batch / s for s in runner_s]
    bares = [batch / s for s in bare_s]
    ratios = block_ratios(runners, bares)
    tests = plain_and_tta_rates(cfg, images=test_images, rounds=test_rounds)
    tta_ratios = [p / t for p, t in zip(tests['plain'], tests['tta'])]
    runner_train = statistics.median(runners)
    gflop = train_step_flops(cfg) / 1e9
    return dict(batch=batch, rounds=blocks, block=block,
                runner_train=round(runner_train, 3),
                bare_train=round(statistics.median(bares), 3),
                runner_over_bare=round(statistics.median(ratios), 3),
                runner_over_bare_min=round(min(ratios), 3),
                runner_over_bare_max=round(max(ratios), 3),
                runner_rounds=[round(r, 3) for r in runners],
                bare_rounds=[round(b, 3) for b in bares],
                runner_test=_significant(statistics.median(tests['plain'])),
                runner_test_tta=_significant(statistics.median(tests['tta'])),
                tta_time_ratio=round(statistics.median(tta_ratios), 3),
                tta_time_ratio_min=round(min(tta_ratios), 3),
                tta_time_ratio_max=round(max(tta_ratios), 3),
                test_rounds=test_rounds,
                train_dtype=str(train_dtype(cfg)).replace('torch.', ''),
                train_gflop_per_img=_significant(gflop),
                train_gflops=_significant(gflop * runner_train),
                hook_ms=costs.ms_per_iteration(),
                phase_ms=phases.ms_per_step(),
                page_faults_per_iter={side: round(statistics.mean(v))
                                      for side, v in faults.items()},
                loader_wait_ms=round(1000 * statistics.mean(waits), 1)
                if waits else None,
                peak_rss_mb=round(resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024))


def with_peak(row: dict, peaks: dict) -> dict:
    """``row`` plus ``peak_gflops`` (the matmul peak in its ``train_dtype``)
    and ``train_pct_of_peak`` (its ``train_gflops`` as % of that peak)."""
    peak = peaks.get(row.get('train_dtype'))
    if peak is None or 'train_gflops' not in row:
        return row
    return dict(row, peak_gflops=peak,
                train_pct_of_peak=round(100 * row['train_gflops'] / peak, 1))


def _significant(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (tiny test models
    have FLOP counts that fixed decimals would round to 0)."""
    return float(f'{value:.{digits}g}')


def machine_info(peaks: Optional[dict] = None) -> dict:
    """CPU, threads and library versions for the benchmark header, and the
    matmul ``peaks`` (dtype name -> GFLOP/s) when given."""
    import mmcv
    import mmengine
    import mmseg
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            names = [ln.split(':', 1)[1].strip() for ln in f
                     if ln.startswith('model name')]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return dict(cpu=cpu, cores=os.cpu_count(),
                torch_threads=torch.get_num_threads(),
                gpu=torch.cuda.get_device_name(0)
                if torch.cuda.is_available() else None,
                python=platform.python_version(), torch=torch.__version__,
                mmengine=mmengine.__version__, mmcv=mmcv.__version__,
                mmseg=mmseg.__version__, bf16_native=bool(
                    torch.ops.mkldnn._is_mkldnn_bf16_supported()),
                matmul_size=MATMUL_SIZE, matmul_peak_gflops=peaks or {})


def cpu_label(machine: dict) -> str:
    """``AMD EPYC, bf16`` or ``AMD EPYC, no bf16``: the table's CPU column
    (speeds differ by 2x between CPUs of one name with and without native
    bfloat16)."""
    return (f"{machine['cpu']}, "
            f"{'bf16' if machine.get('bf16_native') else 'no bf16'}")


def machine_header(machine: dict) -> str:
    """The lines above the table: CPU, threads, versions, matmul peak."""
    text = (f"Measured on {machine['cpu']} ({machine['cores']} cores, "
            f"{machine['torch_threads']} torch threads), torch "
            f"{machine['torch']}, mmengine {machine['mmengine']}, mmcv "
            f"{machine['mmcv']}, mmseg {machine['mmseg']}.")
    peaks = machine.get('matmul_peak_gflops')
    if peaks:
        size = machine.get('matmul_size', MATMUL_SIZE)
        text += (f"\nMatmul peak ({size}x{size}, "
                 f"{machine['torch_threads']} torch threads): " +
                 ', '.join(f'{d} {g:.1f} GFLOP/s' for d, g in peaks.items())
                 + '.')
    return text


def markdown_table(rows: Sequence[dict]) -> str:
    """The throughput rows as a markdown table (img/s, ratios, GFLOP, MB);
    ``–`` where a row (from an older run) lacks a figure."""
    head = ('| config | CPU | batch | train img/s (runner) | train img/s '
            '(bare loop) | runner / bare | train GFLOP/img | train GFLOP/s '
            '(runner) | % of matmul peak | test img/s | test img/s (flip '
            'TTA) | TTA time / plain | peak RSS MB |\n'
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n')
    lines = [f"| {r['config']} | {r.get('cpu', '–')} | {r['batch']} | "
             f"{r['runner_train']:.2f} | "
             f"{r['bare_train']:.2f} | {_ratio(r)} | "
             f"{_fmt(r, 'train_gflop_per_img', '.2f')} | "
             f"{_fmt(r, 'train_gflops', '.1f')} | {_peak_share(r)} | "
             f"{r['runner_test']:.2f} | {r['runner_test_tta']:.2f} | "
             f"{_tta_ratio(r)} | {r['peak_rss_mb']} |"
             for r in rows]
    return head + '\n'.join(lines) + '\n'


def _fmt(row: dict, key: str, spec: str) -> str:
    return format(row[key], spec) if row.get(key) is not None else '–'


def _peak_share(row: dict) -> str:
    """``12.3 (bfloat16)``: % of the matmul peak in the training dtype."""
    if row.get('train_pct_of_peak') is None:
        return '–'
    return f"{row['train_pct_of_peak']:.1f} ({row['train_dtype']})"


def _ratio(row: dict) -> str:
    """Median runner/bare ratio, with its range over rounds when measured."""
    text = f"{row['runner_over_bare']:.3f}"
    if row.get('rounds', 1) > 1:  # blocks of one run, or (older) runs
        unit = f"blocks of {row['block']}" if row.get('block') else 'rounds'
        text += (f" ({row['runner_over_bare_min']:.2f}-"
                 f"{row['runner_over_bare_max']:.2f}, {row['rounds']} {unit})")
    return text


def _tta_ratio(row: dict) -> str:
    """Median TTA / plain time, with its range over rounds when measured."""
    text = f"{row['tta_time_ratio']:.3f}"
    if row.get('test_rounds', 1) > 1:
        text += (f" ({row['tta_time_ratio_min']:.2f}-"
                 f"{row['tta_time_ratio_max']:.2f}, "
                 f"{row['test_rounds']} rounds)")
    return text


def replace_section(path: str, name: str, text: str) -> None:
    """Put ``text`` between ``<!-- name:start -->`` and ``<!-- name:end -->``
    in ``path`` (appending the markers if the file lacks them)."""
    start, end = f'<!-- {name}:start -->', f'<!-- {name}:end -->'
    doc = open(path).read() if osp.exists(path) else ''
    block = f'{start}\n{text.rstrip()}\n{end}'
    if start in doc and end in doc:
        before, rest = doc.split(start, 1)
        after = rest.split(end, 1)[1]
        doc = before + block + after
    else:
        doc = doc.rstrip() + ('\n\n' if doc else '') + block + '\n'
    with open(path, 'w') as f:
        f.write(doc)


def dump(obj, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def prepared_config(config: str, data_root=None, clearml: bool = False,
                    work_dir=None, cfg_options=()) -> Config:
    """``config`` as ``tools/train.py CONFIG --pretrained none
    [--cfg-options ...]`` builds it."""
    from custom_modules.tools.train import build_config
    return build_config(
        config, pretrained='none', data_root=data_root, clearml=clearml,
        work_dir=work_dir or tempfile.mkdtemp(prefix='throughput_'),
        cfg_options=list(cfg_options))
