"""k-fold cross-validation: python tools/kfold.py CONFIG --folds 5 [--tta].

Thin command line over :mod:`custom_modules.tools.kfold`; see --help.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402
from custom_modules.tools.kfold import main  # noqa: E402

if __name__ == '__main__':
    run_cli(main)
