"""Parameters and GFLOPs per image of each config's model; prints a table.

    python benchmarks/model_complexity.py configs/pets/*.py [--json]

The model is built without its pretrained weights (the count does not
depend on them) and traced at the config's input size (its data
preprocessor's ``size``, else 256×256) by ``mmengine.analysis``, which
counts one multiply-add as one FLOP (fvcore's convention, as mmseg's
``tools/analysis_tools/get_flops.py``); the forward pass stops at the
logits (no upsampling or argmax).
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402


def complexity(config: str) -> dict:
    """``{config, input, params_M, gflops}`` of one config's model."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config

    from custom_modules.tools.inference import init_scope
    cfg = Config.fromfile(config)
    init_scope(cfg)
    from mmseg.registry import MODELS
    for part in ('backbone', 'decode_head', 'auxiliary_head'):
        if isinstance(cfg.model.get(part), dict):
            cfg.model[part].pop('init_cfg', None)
    cfg.model.pop('pretrained', None)
    model = MODELS.build(cfg.model).eval()
    size = tuple(cfg.model.get('data_preprocessor', {}).get('size')
                 or (256, 256))

    class Logits(torch.nn.Module):
        def __init__(self, segmentor):
            super().__init__()
            self.segmentor = segmentor

        def forward(self, x):
            return self.segmentor._forward(x)

    result = get_model_complexity_info(Logits(model), input_shape=(3,) + size,
                                       show_table=False, show_arch=False)
    return dict(config=config, input=f'{size[0]}x{size[1]}',
                params_M=round(result['params'] / 1e6, 2),
                gflops=round(result['flops'] / 1e9, 2))


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--json', action='store_true', help='JSON, not a table')
    args = p.parse_args(argv)
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.ERROR)  # op warnings
    rows = [complexity(c) for c in args.configs]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print('| config | input | parameters (M) | GFLOPs per image |')
    print('|---|---|---|---|')
    for r in rows:
        print(f"| `{osp.basename(r['config'])}` | {r['input']} | "
              f"{r['params_M']} | {r['gflops']} |")
    return 0


if __name__ == '__main__':
    run_cli(main)
