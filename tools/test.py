"""Test a checkpoint: python tools/test.py CONFIG CHECKPOINT [--tta] [--out DIR] [--show-dir DIR].

Thin command line over :mod:`custom_modules.workflow.test`; see --help.
"""
from _package import load, mount, run

mount()  # custom_modules without its registrations: --help needs no torch

from custom_modules.workflow.arguments import test_parser  # noqa: E402


def main(argv) -> int:
    """Parse (``--help``, usage errors: no torch), then load and run."""
    test_parser().parse_args(argv)
    load()
    from custom_modules.workflow.test import main as run_tool
    return run_tool(argv)


if __name__ == '__main__':
    run(main)
