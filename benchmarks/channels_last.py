"""Does channels_last speed up CPU training of a config? Alternating pairs.

    python benchmarks/channels_last.py configs/pets/cpu_fast.py \
        --data-root ../shared/data/pets --pairs 3

Bare training loop (see benchmarks/throughput.py) in the default layout and
in channels_last, alternated so machine noise hits both; prints JSON.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.workflow.errors import run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root')
    p.add_argument('--pairs', type=int, default=3)
    args = p.parse_args(argv)
    from custom_modules.workflow import throughput as tp
    cfg = tp.prepared_config(args.config, args.data_root)
    runs = {'contiguous': [], 'channels_last': []}
    for _ in range(args.pairs):
        for name in runs:
            runs[name].append(round(tp.bare_train_images_per_second(
                cfg, channels_last=name == 'channels_last'), 2))
    print(json.dumps(dict(config=args.config, img_s=runs)))
    return 0


if __name__ == '__main__':
    run_cli(main)
