"""Predict photos: python tools/predict.py CONFIG CKPT PATH --out DIR.

Thin command line over :mod:`custom_modules.tools.predict`; see --help.
"""
from _package import load, mount, run

mount()  # --help needs no torch: the plug-ins load after parsing

from custom_modules.tools.arguments import (  # noqa: E402
    check_out_folder, predict_parser)


def main(argv) -> int:
    """Parse (``--help``, usage errors, a file as ``--out``: no torch),
    then load and run."""
    check_out_folder(predict_parser().parse_args(argv).out)
    load()
    from custom_modules.tools.predict import main as run_tool
    return run_tool(argv)


if __name__ == '__main__':
    run(main)
