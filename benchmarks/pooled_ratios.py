"""Runner / bare-loop ratio of several throughput.py invocations, pooled.

    python benchmarks/pooled_ratios.py benchmarks/results/throughput_runs/*.json \
        --configs cpu_fast cpu_pretrained resnet18_unet

One invocation's median of a few blocks moves by several % on a shared
machine; this prints, per config, each file's median (and its block
layout) and the median of all block ratios together, as a markdown table
and, with ``--json``, as JSON. Rows without per-block figures (older
files) are skipped.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.pooled_ratios import markdown, pooled  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('files', nargs='+', help='throughput.py JSON files')
    p.add_argument('--configs', nargs='+', required=True)
    p.add_argument('--json', action='store_true', help='print JSON instead')
    args = p.parse_args(argv)
    result = pooled(args.files, args.configs)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
