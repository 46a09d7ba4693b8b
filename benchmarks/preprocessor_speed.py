"""Training-batch preprocessing: mmseg's ``SegDataPreProcessor`` against
``FastSegDataPreProcessor`` on a config's batch (its batch size, crop size,
mean and std; ``--padded`` images smaller than the crop), ms per batch
(median of ``--repeats``), as JSON.

    python benchmarks/preprocessor_speed.py configs/pets/cpu_fast.py
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))



def training_batch(n: int, crop: tuple, padded: int, seed: int = 0) -> dict:
    """``n`` uint8 images and maps at ``crop`` (H, W), the first ``padded``
    of them at a random smaller size, as the pipeline packs them."""
    from custom_modules import plugins  # noqa: F401  (patched stack first)
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        h, w = crop
        if i < padded:
            h, w = (int(torch.randint(crop[0] // 2, crop[0], (1,),
                                      generator=g)),
                    int(torch.randint(crop[1] // 2, crop[1], (1,),
                                      generator=g)))
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8,
                                    generator=g))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, h, w),
                                                         generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--padded', type=int, default=3,
                   help='images of the batch smaller than the crop (a third '
                   'of the RandomResize ratios 0.5-2 shrink below it)')
    p.add_argument('--repeats', type=int, default=50)
    args = p.parse_args(argv)
    # after parsing: --help answers at once
    from custom_modules import plugins  # noqa: F401  (patched stack first)
    import torch
    from mmengine.config import Config
    from mmseg.models.data_preprocessor import SegDataPreProcessor

    from benchmarks.lib.median_time import median_ms
    from benchmarks.lib.throughput import machine_info
    from custom_modules.models import FastSegDataPreProcessor
    cfg = Config.fromfile(args.config)
    settings = {k: v for k, v in cfg.model.data_preprocessor.items()
                if k != 'type'}
    n, crop = cfg.train_dataloader.batch_size, tuple(settings['size'])
    rows = {}
    for name, cls in (('SegDataPreProcessor', SegDataPreProcessor),
                      ('FastSegDataPreProcessor', FastSegDataPreProcessor)):
        pre = cls(**settings)
        make = lambda: training_batch(n, crop, args.padded)  # noqa: E731
        rows[name] = round(median_ms(lambda: pre(make(), True), args.repeats)
                           - median_ms(make, args.repeats), 2)
    same = torch.equal(
        SegDataPreProcessor(**settings)(training_batch(n, crop, args.padded),
                                        True)['inputs'],
        FastSegDataPreProcessor(**settings)(
            training_batch(n, crop, args.padded), True)['inputs'])
    machine = machine_info()
    print(json.dumps(dict(cpu=machine['cpu'],
                          torch_threads=machine['torch_threads'],
                          config=args.config, batch=n, crop=crop,
                          padded=args.padded, ms_per_batch=rows,
                          same_batch=same), indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
