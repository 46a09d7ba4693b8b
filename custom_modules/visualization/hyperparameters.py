"""The flat hyperparameter summary of a run, shared by ClearML and compare."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict

from mmengine.config import Config

from ..datasets import IMAGE_LOADERS, MASK_LOADERS, PACKERS


def _flatten(prefix: str, value: Any, out: Dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f'{prefix}.{k}' if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)) and value and all(
            isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(f'{prefix}.{i}', v, out)
    else:
        out[prefix] = value if isinstance(value, (int, float, str, bool,
                                                  type(None))) else str(value)


def _without(d, *keys) -> dict:
    return {k: v for k, v in dict(d or {}).items() if k not in keys}


def _indices(indices) -> str:
    """'all', 'first N', or 'N images (sha256 …)' for a dataset subset."""
    if indices is None:
        return 'all'
    if isinstance(indices, int):
        return f'first {indices}'
    text = json.dumps([int(i) for i in indices])
    return f'{len(indices)} images ({hashlib.sha256(text.encode()).hexdigest()[:12]})'


def _precision(cfg: Config) -> str:
    import torch

    from ..optim import training_precision
    return training_precision(cfg, 'cuda' if torch.cuda.is_available()
                              else 'cpu')


def run_hyperparameters(cfg: Config,
                        this_machine: bool = True) -> Dict[str, Any]:
    """Flat ``{'section.key': value}`` summary of what makes a run differ.

    Everything that changes training: the model (backbone and decode head
    settings with frozen stages, the pet-class vote ``fg_vote``, the loss,
    the encoder weights' source), the optimizer and its wrapper (clip_grad,
    parameter-wise settings), every scheduler parameter (warm-up included,
    ``schedule.<i>.<key>``), the precision on this machine, the data (root,
    split, masks folder, the subset of images, the k-fold ``fold``, batch
    size, each augmentation's settings), the seed and TTA. Values are
    scalars or strings, so the ClearML compare view lines up; the short
    keys ``tools/compare.py`` reads (``model.backbone``, ``optimizer.lr``,
    ``schedule.max_iters``, ``data.labels``...) are kept.

    ``precision`` depends on the machine (bfloat16 where it is native), so
    it is given only for a run on this machine (``this_machine``); a
    config read back later, maybe elsewhere, has none.
    """
    tta = cfg.model.get('type') == 'FlipTTA'
    model = cfg.model['module'] if tta else cfg.model
    out: Dict[str, Any] = {}
    backbone = model.get('backbone', {})
    out['model.type'] = model.get('type')
    out['model.backbone'] = backbone.get('type')
    out['model.depth'] = backbone.get('depth')
    out['model.decode_head'] = model.decode_head.get('type')
    out['model.pretrained'] = str(
        model.get('pretrained') or
        (backbone.get('init_cfg') or {}).get('checkpoint') or 'none')
    out['model.frozen_stages'] = backbone.get('frozen_stages')
    _flatten('model.fg_vote', model.get('fg_vote') or 'off', out)
    _flatten('backbone', _without(backbone, 'init_cfg'), out)
    _flatten('decode_head', _without(model.decode_head, 'loss_decode'), out)
    _flatten('loss', model.decode_head.get('loss_decode', {}), out)
    _flatten('optimizer', cfg.optim_wrapper.get('optimizer', {}), out)
    _flatten('optim_wrapper', _without(cfg.optim_wrapper, 'optimizer'), out)
    if this_machine:
        out['precision'] = _precision(cfg)
    out['schedule.max_iters'] = cfg.train_cfg.get('max_iters')
    out['schedule.val_interval'] = cfg.train_cfg.get('val_interval')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    out['schedule.schedulers'] = ', '.join(s['type'] for s in schedulers)
    _flatten('schedule', list(schedulers), out)
    loader = cfg.train_dataloader
    dataset = loader.dataset
    out['data.batch_size'] = loader.batch_size
    out['data.root'] = str(dataset.get('data_root'))
    out['data.split'] = dataset.get('split')
    out['data.labels'] = dataset.get('labels')
    out['data.images'] = _indices(dataset.get('indices'))
    out['data.val_images'] = _indices(
        (cfg.get('val_dataloader') or {}).get('dataset', {}).get('indices'))
    augmentations = [t for t in dataset.get('pipeline', [])
                     if t['type'] not in IMAGE_LOADERS + MASK_LOADERS +
                     PACKERS]
    out['data.augmentations'] = ', '.join(t['type'] for t in augmentations)
    for t in augmentations:
        _flatten(f'augment.{t["type"]}', _without(t, 'type'), out)
    out['data.crop_size'] = str(cfg.get('crop_size'))
    _flatten('fold', cfg.get('fold') or 'none', out)
    out['seed'] = cfg.get('randomness', {}).get('seed')
    out['tta'] = tta
    return out
