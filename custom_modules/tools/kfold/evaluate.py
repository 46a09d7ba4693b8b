"""Scoring fold models, their probability ensemble and the full model."""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional

from ... import plugins  # noqa: F401  (the patched, registered stack first)
import numpy as np
from mmengine.config import Config

from ...common.errors import UserError


def eval_dataloader(cfg: Config, split: str):
    from mmengine.runner import Runner
    loader = Config(dict(cfg.test_dataloader)).to_dict()
    loader['dataset'] = dict(loader['dataset'], split=split)
    loader['dataset'].pop('data_prefix', None)
    loader['persistent_workers'] = False
    return Runner.build_dataloader(loader)


def choose_split(cfg: Config, wanted: str) -> str:
    if wanted != 'auto':
        root = cfg.test_dataloader.dataset.get('data_root', '')
        if not osp.isdir(osp.join(root, 'img', wanted)):
            raise UserError(f'{osp.join(root, "img", wanted)}: no such split; '
                            'use --eval-split val (the test split may be '
                            'held back)')
        return wanted
    root = cfg.test_dataloader.dataset.get('data_root', '')
    split = 'test' if osp.isdir(osp.join(root, 'img', 'test')) else 'val'
    print(f'evaluating on the {split} split'
          + ('' if split == 'test' else f' ({root}/img/test not found)'))
    return split


def evaluate_models(cfg: Config, folds: Dict[str, str],
                    full: Optional[str], split: str, tta: bool) -> dict:
    """Score each fold model, their probability ensemble and the full model.

    Args:
        folds: fold name -> checkpoint; full: the full model's checkpoint.

    Returns:
        ``metrics``: row -> metrics (percent); ``per_image``: row -> the
        metric's per-image records; ``masks``: img_path -> (gt, ensemble
        prediction) uint8 arrays, for pictures.
    """
    import torch
    from mmengine.utils import ProgressBar
    from ...evaluation.jaccard_metric import JaccardMetric
    from ..ensemble import to_predictions
    from ..inference import load_model

    models = OrderedDict((k, load_model(cfg, ckpt)) for k, ckpt in
                         folds.items())
    full_model = load_model(cfg, full) if full else None
    first = next(iter(models.values()))
    flipped = _flipped(models, full_model) if tta else None
    loader = eval_dataloader(cfg, split)
    rows = list(models) + ['ensemble'] + (['ensemble+tta'] if tta else [])
    if full_model is not None:
        rows += ['full'] + (['full+tta'] if tta else [])
    metrics = OrderedDict()
    for row in rows:
        metrics[row] = JaccardMetric()
        metrics[row].dataset_meta = loader.dataset.metainfo
    masks: Dict[str, tuple] = {}
    bar = ProgressBar(len(loader.dataset))
    with torch.no_grad():
        for batch in loader:
            data = first.data_preprocessor(batch, False)
            samples = data['data_samples']
            probs = _batch_probs(models, full_model, data['inputs'],
                                 [s.metainfo for s in samples], flipped)
            for row, p in probs.items():
                out = to_predictions(first, p, samples)
                metrics[row].process(batch, [o.to_dict() for o in out])
                if row == 'ensemble':
                    for o in out:
                        masks[o.img_path] = tuple(
                            d.data[0].cpu().numpy().astype(np.uint8)
                            for d in (o.gt_sem_seg, o.pred_sem_seg))
            for _ in samples:
                bar.update()
    print()
    size = len(loader.dataset)
    scores = OrderedDict((row, m.evaluate(size)) for row, m in metrics.items())
    return dict(metrics=scores,
                per_image={row: m.per_image for row, m in metrics.items()},
                masks=masks, classes=list(loader.dataset.metainfo['classes']),
                images=size)


def _flipped(models: Dict[str, object], full_model) -> dict:
    """The flip-TTA wrappers, built once: fold models, then ``'full'``."""
    from ...models.flip_tta import FlipTTA
    wrapped = {k: FlipTTA(module=m) for k, m in models.items()}
    if full_model is not None:
        wrapped['full'] = FlipTTA(module=full_model)
    return wrapped


def _batch_probs(models: Dict[str, object], full_model, inputs, metas,
                 flipped: Optional[dict]) -> Dict[str, object]:
    """Row -> class probabilities (N, C, H, W) of one batch: each fold
    model, their ensemble and the full model, each with flip TTA too when
    ``flipped`` (from :func:`_flipped`) is given."""
    from ..ensemble import average_probs, model_probs
    probs = OrderedDict((k, model_probs(m, inputs, metas))
                        for k, m in models.items())
    probs['ensemble'] = average_probs(list(probs.values()))
    if flipped:
        probs['ensemble+tta'] = average_probs([
            model_probs(flipped[k], inputs, metas) for k in models])
    if full_model is not None:
        probs['full'] = model_probs(full_model, inputs, metas)
        if flipped:
            probs['full+tta'] = model_probs(flipped['full'], inputs, metas)
    return probs
