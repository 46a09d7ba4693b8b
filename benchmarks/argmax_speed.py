"""Class ids from logits: ``torch.argmax`` against ``class_ids`` (the
``max(dim).indices`` that ``TrainMetricsHook`` and the foreground vote use)
on pets-sized logits, ms per call (median of ``--repeats``), as JSON.

    python benchmarks/argmax_speed.py [--shape 8 3 256 256] [--repeats 20]
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))



def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--shape', type=int, nargs='+', default=[8, 3, 256, 256],
                   help='logits shape (N, C, H, W); the class axis is 1')
    p.add_argument('--repeats', type=int, default=20)
    args = p.parse_args(argv)
    import torch  # after parsing: --help answers at once

    from benchmarks.lib.median_time import median_ms
    from benchmarks.lib.throughput import machine_info
    from custom_modules.common.class_ids import class_ids
    logits = torch.randn(*args.shape, generator=torch.Generator()
                         .manual_seed(0))
    rows = []
    for layout, x in (('contiguous (NCHW)', logits),
                      ('channels_last', logits.contiguous(
                          memory_format=torch.channels_last))):
        rows.append(dict(
            layout=layout,
            argmax_ms=median_ms(lambda: x.argmax(1), args.repeats),
            class_ids_ms=median_ms(lambda: class_ids(x, dim=1), args.repeats),
            same_ids=bool(torch.equal(x.argmax(1), class_ids(x, dim=1)))))
    machine = machine_info()
    print(json.dumps(dict(cpu=machine['cpu'],
                          torch_threads=machine['torch_threads'],
                          torch=machine['torch'], shape=args.shape,
                          rows=rows), indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
