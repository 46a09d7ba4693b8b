"""Overlay learning curves: python tools/plot_curves.py WORK_DIR [...].

Thin command line over :mod:`custom_modules.common.curves`; see --help.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402
from custom_modules.common.curves import main  # noqa: E402

if __name__ == '__main__':
    run_cli(main)
