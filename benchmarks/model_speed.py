"""Training img/s of a config and of variants of it, in the bare loop.

    python benchmarks/model_speed.py configs/pets/cpu_pretrained.py \
        --data-root ../shared/data/pets --rounds 2 \
        --variant decoder_to_stride_1 \
            'model.decode_head.decoder_channels=(128,64,48,32,16)' \
        --variant no_frozen_stages model.backbone.frozen_stages=-1

Each ``--variant NAME KEY=VALUE ...`` is the config with those
``--cfg-options``; the config itself is measured as ``config``. Every variant
runs the bare PyTorch loop of benchmarks/throughput.py with the config's own
layout and autocast dtype (channels_last, bfloat16), one real batch reused;
the variants take turns ``--rounds`` times so that machine noise hits all of
them. Prints JSON: img/s per round and the median.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root')
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--variant', nargs='+', action='append', default=[],
                   metavar=('NAME', 'KEY=VALUE'),
                   help='a named variant: cfg-options applied to the config')
    args = p.parse_args(argv)
    for variant in args.variant:
        if len(variant) < 2:
            p.error(f'--variant {variant[0]}: give at least one KEY=VALUE')

    from custom_modules.hooks.channels_last import uses_channels_last
    from custom_modules.optim import autocast_dtype
    from benchmarks.lib import throughput as tp
    variants = {'config': []}
    variants.update({v[0]: v[1:] for v in args.variant})
    cfgs = {name: tp.prepared_config(args.config, args.data_root,
                                     cfg_options=opts)
            for name, opts in variants.items()}
    img_s = {name: [] for name in cfgs}
    for _ in range(args.rounds):
        for name, cfg in cfgs.items():
            img_s[name].append(round(tp.bare_train_images_per_second(
                cfg, channels_last=uses_channels_last(cfg),
                autocast=autocast_dtype(cfg, 'cpu')), 2))
    print(json.dumps(dict(
        config=args.config, cpu=tp.machine_info().get('cpu'),
        options=variants, img_s=img_s,
        median={k: round(statistics.median(v), 2)
                for k, v in img_s.items()})))
    return 0


if __name__ == '__main__':
    run_cli(main)
