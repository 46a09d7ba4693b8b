"""The flat hyperparameter summary of a run, shared by ClearML and compare."""
from __future__ import annotations

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


def run_hyperparameters(cfg: Config) -> Dict[str, Any]:
    """Flat ``{'section.key': value}`` summary of what makes a run differ.

    Sections: model (backbone, heads, losses), optimizer, schedule, data
    (batch size, labels folder, augmentation types, crop size), seed, TTA.
    Values are scalars or strings, so the ClearML compare view lines up.
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
    _flatten('loss', model.decode_head.get('loss_decode', {}), out)
    _flatten('optimizer', cfg.optim_wrapper.get('optimizer', {}), out)
    out['schedule.max_iters'] = cfg.train_cfg.get('max_iters')
    out['schedule.val_interval'] = cfg.train_cfg.get('val_interval')
    out['schedule.schedulers'] = ', '.join(
        s['type'] for s in cfg.get('param_scheduler', []))
    loader = cfg.train_dataloader
    out['data.batch_size'] = loader.batch_size
    out['data.labels'] = loader.dataset.get('labels')
    out['data.augmentations'] = ', '.join(
        t['type'] for t in loader.dataset.get('pipeline', [])
        if t['type'] not in IMAGE_LOADERS + MASK_LOADERS + PACKERS)
    out['data.crop_size'] = str(cfg.get('crop_size'))
    out['seed'] = cfg.get('randomness', {}).get('seed')
    out['tta'] = tta
    return out
