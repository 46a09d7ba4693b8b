"""Plain and flip-TTA inference speed, timed in alternating rounds.

Timing ``Runner.test()`` plain for a few seconds and then with TTA lets the
machine's drift between those seconds into the ratio (timed so, three
invocations on one 2-core EPYC gave 1.76, 2.14 and 2.70 for
``cpu_pretrained``, same code: ``benchmarks/results/throughput_runs/7_*``
to ``9_*``). Here both
runners are built once, in one process, and their test loops take turns
(:func:`take_turns`, the order swapped every round) over the same val
images; the TTA time ratio is the median of the per-round ratios.
"""
from __future__ import annotations

import copy
import os.path as osp
import tempfile
import time
from typing import Callable, Dict, List

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.hooks import Hook

from custom_modules.tools.inference import runner_inference_precision, wrap_tta
from .budget import calibration_config


class InferenceClock(Hook):
    """Time stamps after every test iteration of one ``Runner.test()``, the
    first ``skip`` left out; :meth:`reset` before each run."""

    priority = 'VERY_LOW'

    def __init__(self, skip: int = 2) -> None:
        self.skip = skip
        self.reset()

    def reset(self) -> None:
        self.stamps: List[float] = []
        self.batch_sizes: List[int] = []

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if batch_idx + 1 >= self.skip:
            self.stamps.append(time.perf_counter())
            self.batch_sizes.append(len(outputs))

    def images_per_second(self) -> float:
        """Images per second between the first and the last stamp."""
        if len(self.stamps) < 2:
            raise RuntimeError('too few test batches to time; use more images')
        return sum(self.batch_sizes[1:]) / (self.stamps[-1] - self.stamps[0])


def take_turns(runs: Dict[str, Callable[[], float]], rounds: int
               ) -> Dict[str, List[float]]:
    """Call each of ``runs`` (name -> a timed run returning its rate) once per
    round for ``rounds`` rounds, in reversed order every other round, so
    neither side always runs first; returns each name's rates in order."""
    names = list(runs)
    rates: Dict[str, List[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in (names if i % 2 == 0 else names[::-1]):
            rates[name].append(runs[name]())
    return rates


def inference_config(cfg: Config, tta: bool, images: int) -> Config:
    """``cfg`` as ``tools/test.py [--tta]`` runs it (channels_last and
    bfloat16 autocast as the config trains), on the first ``images`` val
    images (random weights: speed does not depend on them)."""
    test = copy.deepcopy(cfg)
    test.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    test.test_dataloader.dataset.indices = images
    test.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    if tta:
        wrap_tta(test)
    runner_inference_precision(test, 'cpu')
    return test


def plain_and_tta_rates(cfg: Config, images: int = 48, rounds: int = 5
                        ) -> Dict[str, List[float]]:
    """img/s of ``Runner.test()``, ``{'plain': [...], 'tta': [...]}`` with
    one value per round, the two runners taking turns (:func:`take_turns`)
    after one untimed run each (first calls: oneDNN kernels, caches)."""
    from mmengine.runner import Runner
    runs = {}
    with tempfile.TemporaryDirectory(prefix='throughput_test_') as tmp:
        for name in ('plain', 'tta'):
            test = calibration_config(
                inference_config(cfg, name == 'tta', images),
                osp.join(tmp, name))
            runner = Runner.from_cfg(test)
            clock = InferenceClock()
            runner.register_hook(clock)
            runs[name] = _timed_test(runner, clock)
        take_turns(runs, 1)  # warm-up
        return take_turns(runs, rounds)


def _timed_test(runner, clock: InferenceClock) -> Callable[[], float]:
    def run() -> float:
        clock.reset()
        runner.test()
        return clock.images_per_second()
    return run
