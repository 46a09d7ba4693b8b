"""Training img/s of a config and variants of it: bare loop, or pipeline.

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

``--pipeline`` times the training data pipeline instead, in ms per image
(:func:`benchmarks.lib.pipeline_cost.pipeline_ms_per_image`)::

    python benchmarks/model_speed.py configs/pets/cpu_pretrained.py \
        --data-root ../shared/data/pets --pipeline \
        --variant mmseg_crop train_dataloader.dataset.pipeline.3.type=RandomCrop
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
    p.add_argument('--pipeline', action='store_true',
                   help='time the training data pipeline (ms per image) '
                   'instead of the bare training step')
    p.add_argument('--variant', nargs='+', action='append', default=[],
                   metavar=('NAME', 'KEY=VALUE'),
                   help='a named variant: cfg-options applied to the config')
    args = p.parse_args(argv)
    for variant in args.variant:
        if len(variant) < 2:
            p.error(f'--variant {variant[0]}: give at least one KEY=VALUE')

    import custom_modules.plugins  # noqa: F401  (compat + registration)
    from custom_modules.hooks.channels_last import uses_channels_last
    from custom_modules.optim import autocast_dtype
    from benchmarks.lib import throughput as tp
    variants = {'config': []}
    variants.update({v[0]: v[1:] for v in args.variant})
    cfgs = {name: tp.prepared_config(args.config, args.data_root,
                                     cfg_options=opts)
            for name, opts in variants.items()}
    from benchmarks.lib.pipeline_cost import pipeline_ms_per_image

    def measure(cfg) -> float:
        if args.pipeline:
            return pipeline_ms_per_image(cfg)
        return tp.bare_train_images_per_second(
            cfg, channels_last=uses_channels_last(cfg),
            autocast=autocast_dtype(cfg, 'cpu'))
    figures = {name: [] for name in cfgs}
    for _ in range(args.rounds):
        for name, cfg in cfgs.items():
            figures[name].append(round(measure(cfg), 2))
    unit = 'ms_per_image' if args.pipeline else 'img_s'
    print(json.dumps({
        'config': args.config, 'cpu': tp.cpu_label(tp.machine_info()),
        'options': variants, unit: figures,
        'median': {k: round(statistics.median(v), 2)
                   for k, v in figures.items()}}))
    return 0


if __name__ == '__main__':
    run_cli(main)
