"""Command lines of the benchmark scripts that run the training stack:
argparse only (and the ``--cfg-options`` parser), so ``--help`` and usage
errors answer before torch is imported."""
from __future__ import annotations

import argparse

from custom_modules.tools.config import CfgOptionsAction


def budget_parser() -> argparse.ArgumentParser:
    """``benchmarks/budget.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='Train a config for a fixed number of training '
        'minutes, with its schedule fitted to that budget; writes '
        'budget.json and budget.png (val metrics against training time).')
    p.add_argument('config')
    p.add_argument('--minutes', type=float, default=30.0,
                   help='training budget, validation excluded (default 30)')
    p.add_argument('--eval-every', type=float, default=5.0,
                   help='validate every this many training minutes')
    p.add_argument('--margin', type=float, default=0.1,
                   help='fit the schedule to s/iteration x (1 + margin): '
                   'whole runs went 3-14 %% slower than their calibration '
                   '(default 0.1)')
    p.add_argument('--no-fit', action='store_true',
                   help="keep the config's schedule; only stop at the budget")
    p.add_argument('--work-dir', help='default: work_dirs/budget/<config>')
    p.add_argument('--pretrained', help="encoder weights: 'none' trains "
                   "from scratch, or a file/URL; default: the config's own "
                   '(from scratch, with a warning, where they need network)')
    p.add_argument('--data-root')
    p.add_argument('--labels')
    p.add_argument('--clearml', action='store_true',
                   help='log to ClearML (off: benchmarks time the training)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    return p
