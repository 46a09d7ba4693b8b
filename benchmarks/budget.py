"""Train a config for N minutes and record val metrics vs time.

    python benchmarks/budget.py configs/pets/cpu_pretrained.py --minutes 30 \
        --data-root ../shared/data/pets

The encoder starts from the config's weights (``--pretrained none``: from
scratch; weights that need network fall back to scratch with a warning).

Calibrates seconds per iteration on this machine, fits the config's schedule
into the budget, validates every --eval-every training minutes and writes
<work_dir>/budget.json and budget.png; prints the final and best val scores
as JSON. Logic: :mod:`benchmarks.lib.budget`.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.arguments import budget_parser  # noqa: E402
from custom_modules.common.errors import run_cli  # noqa: E402


def main(argv) -> int:
    """Parse (``--help``, usage errors: no torch), then load and run."""
    budget_parser().parse_args(argv)
    from benchmarks.lib.budget import main as run_budget
    return run_budget(argv)


if __name__ == '__main__':
    run_cli(main)
