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

from custom_modules.workflow.errors import UserError, run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', default='data/pets')
    p.add_argument('--labels', default='labels')
    args = p.parse_args(argv)
    from custom_modules.workflow.config import load_config
    from custom_modules.workflow.inference import load_model
    from custom_modules.workflow.predict import (inference_pipeline,
                                                 predict_photo)
    photos = sorted(glob.glob(osp.join(args.data_root, 'img', 'val', '*')))
    if not photos:
        raise UserError(f'{args.data_root}/img/val: no photos; give '
                        '--data-root of a pets dataset')
    cfg = load_config(args.config)
    model = load_model(cfg, args.checkpoint, device='cpu')
    pipeline = inference_pipeline(cfg)
    inter = np.zeros(3)
    total = np.zeros(3)
    fg_inter = fg_total = 0
    right = {1: [], 2: []}
    for photo in photos:
        stem = osp.splitext(osp.basename(photo))[0]
        gt = cv2.imread(osp.join(args.data_root, args.labels, 'val',
                                 stem + '.png'), cv2.IMREAD_UNCHANGED)
        pred = predict_photo(model, pipeline, photo)
        valid = gt != 255
        for c in range(3):
            inter[c] += ((pred == c) & (gt == c) & valid).sum()
            total[c] += ((pred == c) & valid).sum() + ((gt == c) & valid).sum()
        fg_pred, fg_gt = (pred > 0) & valid, (gt > 0) & valid
        fg_inter += (fg_pred & fg_gt).sum()
        fg_total += fg_pred.sum() + fg_gt.sum()
        pets = [c for c in (1, 2) if (gt[valid] == c).any()]
        if len(pets) == 1:
            votes = [(pred[fg_pred] == c).sum() for c in (1, 2)]
            # no pet predicted at all counts as wrong
            right[pets[0]].append(bool(max(votes) > 0 and
                                       int(np.argmax(votes)) + 1 == pets[0]))
    accuracy = {name: round(100 * float(np.mean(right[c])), 2)
                for c, name in ((1, 'cat'), (2, 'dog')) if right[c]}
    print(json.dumps(dict(
        config=args.config, checkpoint=args.checkpoint, photos=len(photos),
        foreground_dice=round(200 * fg_inter / max(fg_total, 1), 2),
        photo_class_accuracy=round(100 * float(np.mean(
            right[1] + right[2])), 2),
        photo_class_accuracy_per_class=accuracy,
        dice={name: round(200 * inter[c] / max(total[c], 1), 2)
              for c, name in enumerate(('background', 'cat', 'dog'))}),
        indent=2))
    return 0


if __name__ == '__main__':
    run_cli(main)
