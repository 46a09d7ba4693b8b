"""Do channels_last and bfloat16 autocast speed up CPU training of a config?

    python benchmarks/cpu_speedups.py configs/pets/cpu_fast.py \
        --data-root ../shared/data/pets --rounds 3

Bare training loop (see benchmarks/throughput.py) in four variants: the
default layout in float32, bfloat16 autocast alone (``AutocastOptimWrapper``),
channels_last alone in float32 (``ChannelsLastHook``), and both.
The variants take turns, ``--rounds`` times, so machine noise hits all of
them; prints JSON with img/s per round.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402

VARIANTS = {'float32': dict(channels_last=False, autocast=None),
            'bfloat16': dict(channels_last=False, autocast='bfloat16'),
            'channels_last': dict(channels_last=True, autocast=None),
            'channels_last+bfloat16': dict(channels_last=True,
                                           autocast='bfloat16')}


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root')
    p.add_argument('--rounds', type=int, default=3)
    args = p.parse_args(argv)
    import torch

    from benchmarks.lib import throughput as tp
    cfg = tp.prepared_config(args.config, args.data_root)
    runs = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, v in VARIANTS.items():
            dtype = v['autocast'] and getattr(torch, v['autocast'])
            runs[name].append(round(tp.bare_train_images_per_second(
                cfg, channels_last=v['channels_last'], autocast=dtype), 2))
    print(json.dumps(dict(config=args.config, img_s=runs,
                          bf16_native=bool(
                              torch.ops.mkldnn._is_mkldnn_bf16_supported()))))
    return 0


if __name__ == '__main__':
    run_cli(main)
