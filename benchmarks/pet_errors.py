"""Where a checkpoint loses its pet Dice: finding the animal, or naming it.

    python benchmarks/pet_errors.py configs/pets/cpu_fast.py CKPT \
        --data-root ../shared/data/pets

On the val split (course ``labels``), prints JSON with:
- ``foreground_dice``: Dice of "any pet" against background, over all
  pixels (cat and dog merged): how well the animal is found;
- ``photo_class_accuracy``: share of photos whose predicted foreground is
  mostly the right pet (each pets photo shows one kind; a photo with no
  pet predicted counts as wrong), per class too;
- ``dice``: the usual per-class Dice, for reference.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_modules.common.errors import UserError, run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', default='data/pets')
    p.add_argument('--labels', default='labels')
    args = p.parse_args(argv)
    import torch

    import custom_modules.plugins  # noqa: F401  (compat + registration)
    from custom_modules.evaluation.jaccard_metric import (class_areas,
                                                          scores_from_areas)
    from custom_modules.tools.config import load_config
    from custom_modules.tools.inference import load_model
    from custom_modules.tools.predict import (inference_pipeline,
                                                 predict_photo)
    photos = sorted(glob.glob(osp.join(args.data_root, 'img', 'val', '*')))
    if not photos:
        raise UserError(f'{args.data_root}/img/val: no photos; give '
                        '--data-root of a pets dataset')
    cfg = load_config(args.config)
    model = load_model(cfg, args.checkpoint, device='cpu')
    pipeline = inference_pipeline(cfg)
    areas = np.zeros((3, 3), np.int64)     # background / cat / dog
    fg_areas = np.zeros((3, 2), np.int64)  # background / any pet
    right = {1: [], 2: []}
    for photo in photos:
        stem = osp.splitext(osp.basename(photo))[0]
        gt = torch.from_numpy(cv2.imread(
            osp.join(args.data_root, args.labels, 'val', stem + '.png'),
            cv2.IMREAD_UNCHANGED))
        pred = torch.from_numpy(predict_photo(model, pipeline, photo))
        areas += class_areas(pred, gt, 3)
        fg_gt = torch.where(gt == 255, gt, (gt > 0).to(gt.dtype))
        fg_areas += class_areas((pred > 0).to(gt.dtype), fg_gt, 2)
        pets = [c for c in (1, 2) if (gt == c).any()]
        if len(pets) == 1:
            votes = [int(((pred == c) & (gt != 255)).sum()) for c in (1, 2)]
            # no pet predicted at all counts as wrong
            right[pets[0]].append(max(votes) > 0 and
                                  int(np.argmax(votes)) + 1 == pets[0])
    dice = scores_from_areas(areas)['Dice']
    accuracy = {name: round(100 * float(np.mean(right[c])), 2)
                for c, name in ((1, 'cat'), (2, 'dog')) if right[c]}
    print(json.dumps(dict(
        config=args.config, checkpoint=args.checkpoint, photos=len(photos),
        foreground_dice=round(
            100 * float(scores_from_areas(fg_areas)['Dice'][1]), 2),
        photo_class_accuracy=round(100 * float(np.mean(
            right[1] + right[2])), 2),
        photo_class_accuracy_per_class=accuracy,
        dice={name: round(100 * float(d), 2)
              for name, d in zip(('background', 'cat', 'dog'), dice)}),
        indent=2))
    return 0


if __name__ == '__main__':
    run_cli(main)
