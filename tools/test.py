"""Test a checkpoint: python tools/test.py CONFIG CHECKPOINT [--tta] [--out DIR] [--show-dir DIR].

Thin command line over :mod:`custom_modules.tools.test`; see --help.
"""
from _package import load, mount, run

mount()  # --help needs no torch: the plug-ins load after parsing

from custom_modules.tools.arguments import test_parser  # noqa: E402


def main(argv) -> int:
    """Parse (``--help``, usage errors: no torch), then load and run."""
    test_parser().parse_args(argv)
    load()
    from custom_modules.tools.test import main as run_tool
    return run_tool(argv)


if __name__ == '__main__':
    run(main)
