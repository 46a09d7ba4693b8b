"""The cost of test-time augmentation on the CPU, in the precision
``tools/test.py`` uses: a plain batch of N; flip TTA's forward passes as one
batch of 2N (image and mirror together) and as two batches of N; and the
whole of ``--tta`` (flip) and ``--tta ms`` (multi-scale + flip), softmax and
averaging included. ms per call (median of ``--rounds``, taken in turns, so
other work on the machine slows each alike) and each as a multiple of the
plain batch, as JSON.

    python benchmarks/tta_batching.py configs/pets/cpu_pretrained.py \
        [--batch 4] [--size 320]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--batch', type=int, default=4, help='N (val batch: 4)')
    p.add_argument('--size', type=int, default=256,
                   help='side of the input (cpu_pretrained tests at 320)')
    p.add_argument('--rounds', type=int, default=6)
    args = p.parse_args(argv)
    import torch
    from mmseg.registry import MODELS

    from benchmarks.lib.throughput import machine_info, prepared_config
    from custom_modules.hooks.channels_last import uses_channels_last
    from custom_modules.models.flip_tta import MULTI_SCALES, FlipTTA
    from custom_modules.tools.inference import (init_scope,
                                                runner_inference_precision)
    cfg = prepared_config(args.config)
    runner_inference_precision(cfg, 'cpu')
    init_scope(cfg)
    model = MODELS.build(cfg.model).eval()
    layout = torch.channels_last if uses_channels_last(cfg) \
        else torch.contiguous_format
    model = model.to(memory_format=layout)
    n, s = args.batch, args.size
    x = torch.randn(n, 3, s, s).contiguous(memory_format=layout)
    meta = dict(img_shape=(s, s), ori_shape=(s, s), pad_shape=(s, s),
                padding_size=[0, 0, 0, 0])
    metas = [meta] * n
    calls = {
        f'plain, batch {n}': lambda: model.inference(x, metas),
        f'one batch of {2 * n}': lambda: model.inference(
            torch.cat([x, x.flip(-1)]), metas * 2),
        f'two batches of {n}': lambda: (model.inference(x, metas),
                                        model.inference(x.flip(-1), metas)),
        '--tta (flip)': lambda: FlipTTA(model).flip_probs(x, metas),
        '--tta ms (multi-scale + flip)': lambda: FlipTTA(
            model, scales=MULTI_SCALES).flip_probs(x, metas),
    }
    times = {k: [] for k in calls}
    with torch.no_grad():
        for fn in calls.values():
            fn()  # warm-up
        for _ in range(args.rounds):
            for name, fn in calls.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    ms = {k: round(1000 * statistics.median(v), 1) for k, v in times.items()}
    plain = ms[f'plain, batch {n}']
    machine = machine_info()
    print(json.dumps(dict(
        config=args.config, cpu=machine['cpu'],
        torch_threads=machine['torch_threads'], ms=ms,
        times_plain={k: round(v / plain, 2) for k, v in ms.items()}),
        indent=2))
    return 0


if __name__ == '__main__':
    run_cli(main)
