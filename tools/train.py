"""Train a config: python tools/train.py configs/pets/resnet_unet.py [options].

Thin command line over :mod:`custom_modules.workflow.train`; see --help.
"""
from _package import load, mount, run

mount()  # custom_modules without its registrations: --help needs no torch

from custom_modules.workflow.arguments import train_parser  # noqa: E402


def main(argv) -> int:
    """Parse (``--help``, usage errors: no torch), then load and run."""
    train_parser().parse_args(argv)
    load()
    from custom_modules.workflow.train import main as run_tool
    return run_tool(argv)


if __name__ == '__main__':
    run(main)
