"""A trained model outside the Runner: build from a config, load, predict.

Shared by ``tools/test.py`` (config preparation), ``tools/kfold.py``
(fold models for the ensemble) and ``tools/predict.py``.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn as nn
from mmengine.config import Config

from .checkpoints import load_weights


def no_pretrained_download(cfg: Config) -> None:
    """Drop the encoder's ImageNet weights: a checkpoint replaces them, and
    nothing should be downloaded before it is loaded."""
    cfg.load_from = None
    cfg.model.pop('pretrained', None)
    if cfg.model.get('backbone') is not None:
        cfg.model.backbone.init_cfg = None


def wrap_tta(cfg: Config) -> None:
    """Wrap ``cfg.model`` in the config's ``tta_model`` (FlipTTA)."""
    tta = dict(cfg.get('tta_model') or dict(type='FlipTTA'))
    if tta.get('type') == 'SegTTAModel':  # mmseg's multi-pipeline TTA
        tta = dict(type='FlipTTA')
    tta['module'] = cfg.model
    cfg.model = tta


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def init_scope(cfg: Config) -> None:
    """Register the custom modules and make ``cfg``'s scope the default."""
    import custom_modules  # noqa: F401  (compat + registration)
    from mmengine.registry import DefaultScope, init_default_scope
    scope = cfg.get('default_scope', 'mmseg')
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != scope:
        init_default_scope(scope)


def load_model(cfg: Config, checkpoint: str, tta: bool = False,
               device: Optional[str] = None) -> nn.Module:
    """Build ``cfg.model``, load ``checkpoint`` strictly, eval mode.

    Args:
        tta: wrap in the config's flip TTA model.
        device: default: CUDA when available, else CPU.
    """
    cfg = copy.deepcopy(cfg)
    init_scope(cfg)
    from mmseg.registry import MODELS
    no_pretrained_download(cfg)
    if tta:
        wrap_tta(cfg)
    model = MODELS.build(cfg.model)
    load_weights(model, checkpoint)
    model.cfg = cfg
    return model.to(device or default_device()).eval()
