"""``tools/predict.py``: masks and overlays for new photos of any size.

Each photo goes through the config's test pipeline (resized for the model,
labels not loaded); the prediction comes back at the photo's own size
(mmseg's ``postprocess_result``). Written per photo: ``masks/<stem>.png``
(uint8 class ids: 0 background, 1 cat, 2 dog) and ``overlays/<stem>.png``;
plus ``predictions.csv`` with each photo's size and class shares. The model
runs as the config trains (channels_last, bfloat16 autocast where native;
:func:`~custom_modules.tools.inference.inference_precision`).
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from typing import List, Sequence

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import numpy as np

from ..compat import check_checkpoint_file
from ..datasets import MASK_LOADERS
from .arguments import check_out_folder, predict_parser as build_parser
from .config import load_config
from ..common.errors import UserError

PHOTO_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_photos(path: str) -> List[str]:
    """A photo, or the photos directly in a folder (sorted)."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise UserError(f'{path}: no such photo or folder')
    photos = sorted(osp.join(path, f) for f in os.listdir(path)
                    if f.lower().endswith(PHOTO_SUFFIXES) and
                    osp.isfile(osp.join(path, f)))
    if not photos:
        raise UserError(f'{path}: no photos ({", ".join(PHOTO_SUFFIXES)})')
    return photos


def output_names(photos: Sequence[str]) -> List[str]:
    """Output stems: the file stem, or ``stem_ext`` where two photos share
    a stem (``a.jpg`` and ``a.png``)."""
    stems = [osp.splitext(osp.basename(p))[0] for p in photos]
    return [s if stems.count(s) == 1 else
            f'{s}_{osp.splitext(p)[1].lstrip(".").lower()}'
            for s, p in zip(stems, photos)]


def inference_pipeline(cfg):
    """The config's test pipeline without label loading."""
    from mmcv.transforms import Compose
    pipeline = cfg.test_dataloader.dataset.get('pipeline') or \
        cfg.get('test_pipeline')
    return Compose([t for t in pipeline if t['type'] not in MASK_LOADERS])


def predict_photo(model, pipeline, path: str, autocast=None) -> np.ndarray:
    """Class-id mask (H, W) uint8 at the photo's own size; the model runs
    under autocast to ``autocast`` (a torch dtype) when given."""
    import torch
    from mmengine.dataset import pseudo_collate
    from .inference import inference_autocast
    data = pipeline(dict(img_path=path))
    with torch.no_grad(), inference_autocast(model, autocast):
        sample = model.test_step(pseudo_collate([data]))[0]
    return sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    check_out_folder(args.out)  # before anything is read or written
    from mmengine.utils import ProgressBar
    from .inference import (default_device, describe_precision,
                            inference_precision, load_model)
    from ..common.overlay import prediction_picture, read_rgb, write_rgb
    photos = list_photos(args.path)
    if not osp.isfile(args.checkpoint):
        raise UserError(f'{args.checkpoint}: checkpoint not found')
    check_checkpoint_file(args.checkpoint)  # before the model is built
    cfg = load_config(args.config, args.cfg_options)
    device = args.device or default_device()
    channels_last, dtype = inference_precision(cfg, device.split(':')[0])
    model = load_model(cfg, args.checkpoint, tta=args.tta, device=device,
                       channels_last=channels_last)
    print('inference: ' + describe_precision(channels_last, dtype))
    pipeline = inference_pipeline(cfg)
    classes = list(cfg.get('metainfo', {}).get('classes') or
                   ('background', 'cat', 'dog'))
    masks_dir, overlays_dir = (osp.join(args.out, d)
                               for d in ('masks', 'overlays'))
    os.makedirs(masks_dir, exist_ok=True)
    os.makedirs(overlays_dir, exist_ok=True)
    import cv2
    rows, failed = [], []
    bar = ProgressBar(len(photos))
    for photo, name in zip(photos, output_names(photos)):
        try:
            image = read_rgb(photo)
            mask = predict_photo(model, pipeline, photo, dtype)
        except Exception as err:  # an unreadable photo must not stop the rest
            failed.append(f'{photo} ({str(err).splitlines()[0]})')
            bar.update()
            continue
        cv2.imwrite(osp.join(masks_dir, f'{name}.png'), mask)
        write_rgb(osp.join(overlays_dir, f'{name}.png'),
                  prediction_picture(image, mask))
        shares = np.bincount(mask.ravel(), minlength=len(classes)) / mask.size
        rows.append([photo, name, mask.shape[1], mask.shape[0]] +
                    [f'{100 * s:.2f}' for s in shares[:len(classes)]])
        bar.update()
    print()
    with open(osp.join(args.out, 'predictions.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['photo', 'name', 'width', 'height'] +
                        [f'{c} %' for c in classes])
        writer.writerows(rows)
    print(f'{len(rows)} photos -> {masks_dir} (class ids) and {overlays_dir}; '
          f'class shares: {osp.join(args.out, "predictions.csv")}')
    if failed:
        print(f'{len(failed)} photo{"s" if len(failed) > 1 else ""} '
              'could not be read:\n  ' +
              '\n  '.join(failed))
    return 0 if rows else 2
