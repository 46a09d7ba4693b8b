"""Training and inference speed of a config: the project's runner against a
bare PyTorch loop on the same model and tensors (benchmarks/throughput.py).

Per config, in a fresh process (so peak memory is that config's):
- ``runner_train``: steady-state img/s of ``Runner.train()`` with the
  config's data pipeline, workers and hooks (validation and checkpoints
  off), timed after warm-up iterations; median of several rounds that
  alternate with the bare loop.
- ``bare_train``: img/s (median of the rounds) of ``loss = model(x, samples, mode='loss');
  backward; AdamW step`` on one preprocessed batch of the same size, reused
  (in channels_last and under bfloat16 autocast when the config's
  ``ChannelsLastHook`` / ``AutocastOptimWrapper`` put the runner's model
  there).
- ``runner_test`` / ``runner_test_tta``: img/s of ``Runner.test()`` on the
  val split, plain and with the flip TTA wrapper (``tools/test.py --tta``).
- ``peak_rss_mb``: the process's peak resident memory.
"""
from __future__ import annotations

import copy
import json
import os
import os.path as osp
import platform
import resource
import statistics
import tempfile
import time
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from ..hooks.channels_last import uses_channels_last
from ..optim import autocast_dtype
from .budget import calibration_config, seconds_per_iteration
from .inference import init_scope, wrap_tta


class _TestClock(Hook):
    """Time stamps after every test iteration, the first ``skip`` left out."""

    priority = 'VERY_LOW'

    def __init__(self, skip: int = 2) -> None:
        self.skip = skip
        self.stamps: List[float] = []
        self.batch_sizes: List[int] = []

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if batch_idx + 1 >= self.skip:
            self.stamps.append(time.perf_counter())
            self.batch_sizes.append(len(outputs))

    def images_per_second(self) -> float:
        if len(self.stamps) < 2:
            raise RuntimeError('too few test batches to time; use more images')
        return sum(self.batch_sizes[1:]) / (self.stamps[-1] - self.stamps[0])


def test_images_per_second(cfg: Config, tta: bool, images: int = 48) -> float:
    """Inference img/s of ``Runner.test()`` on the first ``images`` val images
    (random weights: speed does not depend on them)."""
    from mmengine.runner import Runner
    test = copy.deepcopy(cfg)
    test.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    test.test_dataloader.dataset.indices = images
    test.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    if tta:
        wrap_tta(test)
    with tempfile.TemporaryDirectory(prefix='throughput_test_') as tmp:
        test = calibration_config(test, tmp)
        runner = Runner.from_cfg(test)
        clock = _TestClock()
        runner.register_hook(clock)
        runner.test()
        return clock.images_per_second()


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
    from mmengine.runner import Runner
    from mmseg.registry import MODELS
    init_scope(cfg)
    with tempfile.TemporaryDirectory(prefix='throughput_bare_') as tmp:
        loader = Runner.build_dataloader(
            calibration_config(cfg, tmp).train_dataloader, seed=0)
        batch = next(iter(loader))
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.train()
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    opt_cfg = cfg.optim_wrapper.optimizer
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=opt_cfg.get('lr', 1e-3),
        weight_decay=opt_cfg.get('weight_decay', 0))
    times: List[float] = []
    while len(times) < skip + iters:
        start = time.perf_counter()
        with torch.autocast('cpu', dtype=autocast or torch.bfloat16,
                            enabled=autocast is not None):
            losses = model(inputs, samples, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        timed = times[skip:]
        if len(timed) >= 3 and sum(timed) >= max_seconds:
            break
    return inputs.shape[0] / statistics.median(times[skip:])


def measure_config(cfg: Config, train_iters: int = 20,
                   test_images: int = 48, warmup_iters: int = 30,
                   rounds: int = 3) -> dict:
    """All speed figures of one prepared config (see the module docstring).

    The runner and the bare loop take turns ``rounds`` times, so a slow
    spell of the machine hits both; ``runner_over_bare`` is the median of
    the per-round ratios, with their min and max. The runner is timed in
    steady state: after ``warmup_iters`` iterations (30 of batch 8 cover
    the 198 pets training images once, so cached images are all decoded)
    or 60 s, whichever ends first.
    """
    batch = cfg.train_dataloader.batch_size
    runners, bares = [], []
    for _ in range(rounds):
        runners.append(batch / seconds_per_iteration(
            cfg, skip=warmup_iters, timed=train_iters))
        bares.append(bare_train_images_per_second(
            cfg, iters=min(train_iters, 8),
            channels_last=uses_channels_last(cfg),
            autocast=autocast_dtype(cfg, 'cpu')))
    ratios = [r / b for r, b in zip(runners, bares)]
    plain = test_images_per_second(cfg, tta=False, images=test_images)
    tta = test_images_per_second(cfg, tta=True, images=test_images)
    return dict(batch=batch, rounds=rounds,
                runner_train=round(statistics.median(runners), 3),
                bare_train=round(statistics.median(bares), 3),
                runner_over_bare=round(statistics.median(ratios), 3),
                runner_over_bare_min=round(min(ratios), 3),
                runner_over_bare_max=round(max(ratios), 3),
                runner_test=round(plain, 2), runner_test_tta=round(tta, 2),
                tta_time_ratio=round(plain / tta, 3),
                peak_rss_mb=round(resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024))


def machine_info() -> dict:
    """CPU, threads and library versions for the benchmark header."""
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
                mmseg=mmseg.__version__)


def markdown_table(rows: Sequence[dict]) -> str:
    """The throughput rows as a markdown table (img/s, ratios, MB)."""
    head = ('| config | batch | train img/s (runner) | train img/s (bare '
            'loop) | runner / bare | test img/s | test img/s (flip TTA) | '
            'TTA time / plain | peak RSS MB |\n'
            '|---|---|---|---|---|---|---|---|---|\n')
    lines = [f"| {r['config']} | {r['batch']} | {r['runner_train']:.2f} | "
             f"{r['bare_train']:.2f} | {_ratio(r)} | "
             f"{r['runner_test']:.2f} | {r['runner_test_tta']:.2f} | "
             f"{r['tta_time_ratio']:.3f} | {r['peak_rss_mb']} |"
             for r in rows]
    return head + '\n'.join(lines) + '\n'


def _ratio(row: dict) -> str:
    """Median runner/bare ratio, with its range over rounds when measured."""
    text = f"{row['runner_over_bare']:.3f}"
    if row.get('rounds', 1) > 1:
        text += (f" ({row['runner_over_bare_min']:.2f}-"
                 f"{row['runner_over_bare_max']:.2f}, {row['rounds']} rounds)")
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
    from .train import build_parser, prepare_config
    argv = [config, '--pretrained', 'none',
            '--work-dir', work_dir or tempfile.mkdtemp(prefix='throughput_')]
    if cfg_options:
        argv += ['--cfg-options', *cfg_options]
    if data_root:
        argv += ['--data-root', data_root]
    if not clearml:
        argv.append('--no-clearml')
    return prepare_config(build_parser().parse_args(argv))
