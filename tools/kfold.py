"""k-fold cross-validation: python tools/kfold.py CONFIG --folds 5 [--tta].

Thin command line over :mod:`custom_modules.tools.kfold`; see --help.
"""
from _package import load, mount, run

mount()  # --help needs no torch: the plug-ins load after parsing

from custom_modules.tools.arguments import kfold_parser  # noqa: E402


def main(argv) -> int:
    """Parse (``--help``, usage errors: no torch), then load and run."""
    kfold_parser().parse_args(argv)
    load()
    from custom_modules.tools.kfold import main as run_tool
    return run_tool(argv)


if __name__ == '__main__':
    run(main)
