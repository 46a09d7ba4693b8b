"""A trained model outside the Runner: build from a config, load, predict.

Shared by ``tools/test.py`` (config preparation), ``tools/kfold.py``
(fold models for the ensemble) and ``tools/predict.py``.

Inference runs the way the config trains (:func:`inference_precision`):
``tools/test.py`` and ``tools/predict.py`` put the model in channels_last
when the config has a ``ChannelsLastHook``, and run it under bfloat16
autocast when its ``AutocastOptimWrapper`` autocasts on this machine
(natively only: AVX512-BF16 / AMX on CPU). The config key
``inference_precision='float32'`` (``--cfg-options
inference_precision=float32``) turns both off.
"""
from __future__ import annotations

import copy
import sys
from typing import Optional, Tuple

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log

from ..hooks.channels_last import ChannelsLastHook, uses_channels_last
from ..optim import autocast_dtype
from ..common.weights import load_weights
from ..common.errors import UserError

#: Values of the config key ``inference_precision``: ``'auto'`` (default,
#: as the config trains) or ``'float32'`` (float32, default memory layout).
INFERENCE_PRECISIONS = ('auto', 'float32')

#: The dtype mmengine's ``TestLoop(fp16=True)`` autocasts to, per device.
_RUNNER_AUTOCAST = {'cpu': torch.bfloat16, 'cuda': torch.float16}


def no_pretrained_download(cfg: Config) -> None:
    """Drop the encoder's ImageNet weights: a checkpoint replaces them, and
    nothing should be downloaded before it is loaded."""
    cfg.load_from = None
    cfg.model.pop('pretrained', None)
    if cfg.model.get('backbone') is not None:
        cfg.model.backbone.init_cfg = None


def wrap_tta(cfg: Config, mode: str = 'flip') -> None:
    """Wrap ``cfg.model`` in the config's ``tta_model`` (FlipTTA).

    ``mode``: ``'flip'`` (image and mirror) or ``'ms'`` (image and mirror
    at the ``tta_model``'s ``scales``, by default
    :data:`~custom_modules.models.flip_tta.MULTI_SCALES`).
    """
    from ..models.flip_tta import MULTI_SCALES
    if mode not in ('flip', 'ms'):
        raise ValueError(f"TTA mode {mode!r}: 'flip' or 'ms'")
    tta = dict(cfg.get('tta_model') or dict(type='FlipTTA'))
    if tta.get('type') == 'SegTTAModel':  # mmseg's multi-pipeline TTA
        tta = dict(type='FlipTTA')
    if mode == 'flip':
        tta['scales'] = (1.0,)
    else:
        tta.setdefault('scales', MULTI_SCALES)
    tta['module'] = cfg.model
    cfg.model = tta


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def init_scope(cfg: Config) -> None:
    """Register the custom modules and make ``cfg``'s scope the default."""
    import custom_modules.plugins  # noqa: F401  (compat + registration)
    from mmengine.registry import DefaultScope, init_default_scope
    scope = cfg.get('default_scope', 'mmseg')
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != scope:
        init_default_scope(scope)


def inference_precision(cfg: Config, device_type: str
                        ) -> Tuple[bool, Optional[torch.dtype]]:
    """``(channels_last, autocast dtype or None)`` for inference on
    ``device_type`` (``'cpu'``, ``'cuda'``): as ``cfg`` trains there.

    channels_last when ``cfg`` has a ``ChannelsLastHook``; the dtype of its
    ``AutocastOptimWrapper`` where that autocasts on ``device_type``
    (:func:`~custom_modules.optim.autocast_dtype`). ``(False, None)`` when
    ``cfg.inference_precision == 'float32'``.
    """
    mode = cfg.get('inference_precision', 'auto')
    if mode not in INFERENCE_PRECISIONS:
        raise UserError(f'inference_precision={mode!r}: use one of '
                        f'{", ".join(INFERENCE_PRECISIONS)}')
    if mode == 'float32':
        return False, None
    return uses_channels_last(cfg), autocast_dtype(cfg, device_type)


def describe_precision(channels_last: bool,
                       dtype: Optional[torch.dtype]) -> str:
    """How the model infers, and how to change it, in words: ``float32``
    or e.g. ``bfloat16 autocast, channels_last, as in training (...)``."""
    if not (channels_last or dtype):
        return 'float32'
    how = [f'{str(dtype).replace("torch.", "")} autocast' if dtype else
           'float32', 'channels_last' if channels_last else None]
    return (', '.join(h for h in how if h) + ', as in training '
            '(--cfg-options inference_precision=float32 for float32 in the '
            'default layout)')


def test_loop_precision(cfg: Config, device_type: str
                        ) -> Tuple[bool, Optional[torch.dtype]]:
    """``(channels_last, autocast dtype or None)`` of ``Runner.test()``
    with ``cfg`` as it stands (after :func:`runner_inference_precision`)."""
    fp16 = (cfg.get('test_cfg') or {}).get('fp16')
    return (uses_channels_last(cfg),
            _RUNNER_AUTOCAST.get(device_type) if fp16 else None)


def runner_inference_precision(cfg: Config,
                               device_type: Optional[str] = None) -> None:
    """Make ``Runner.test()`` with ``cfg`` infer as
    :func:`inference_precision` says (``cfg`` is changed in place;
    :func:`test_loop_precision` reads the result back).

    channels_last comes from the config's ``ChannelsLastHook`` (removed for
    ``'float32'``); autocast from mmengine's ``TestLoop(fp16=True)``, which
    autocasts to bfloat16 on CPU and float16 on CUDA: where that is not the
    training dtype, the test runs in float32.
    """
    device_type = device_type or torch.device(default_device()).type
    channels_last, dtype = inference_precision(cfg, device_type)
    if not channels_last and uses_channels_last(cfg):
        drop = ('ChannelsLastHook', ChannelsLastHook)
        cfg.custom_hooks = [h for h in cfg.get('custom_hooks') or []
                            if h.get('type') not in drop]
        cfg.default_hooks = {k: h for k, h in
                             (cfg.get('default_hooks') or {}).items()
                             if not (isinstance(h, dict) and
                                     h.get('type') in drop)}
    loop = cfg.get('test_cfg') or {}
    if dtype is not None and (
            dtype != _RUNNER_AUTOCAST.get(device_type) or
            loop.get('type', 'TestLoop') != 'TestLoop'):
        # print, not print_log: no Runner (and so no logger of this run)
        # exists yet, and 'current' may be an earlier run's in this process
        print(f'warning: {dtype} inference is not possible with test_cfg='
              f'{dict(loop)} on {device_type}; testing in float32',
              file=sys.stderr)
        dtype = None
    if dtype is not None:
        cfg.test_cfg = dict(loop, fp16=True)


def inference_autocast(model: nn.Module, dtype: Optional[torch.dtype]):
    """``torch.autocast`` to ``dtype`` on ``model``'s device; a no-op
    context when ``dtype`` is None."""
    device_type = next(model.parameters()).device.type
    return torch.autocast(device_type, dtype=dtype or torch.bfloat16,
                          enabled=dtype is not None)


def load_model(cfg: Config, checkpoint: str, tta: bool = False,
               device: Optional[str] = None,
               channels_last: bool = False) -> nn.Module:
    """Build ``cfg.model``, load ``checkpoint`` strictly, eval mode.

    Args:
        tta: ``'flip'`` or ``'ms'`` (:func:`wrap_tta`), True for flip.
        device: default: CUDA when available, else CPU.
        channels_last: convolution weights in that memory format.
    """
    cfg = copy.deepcopy(cfg)
    init_scope(cfg)
    from mmseg.registry import MODELS
    no_pretrained_download(cfg)
    if tta:
        wrap_tta(cfg, tta if isinstance(tta, str) else 'flip')
    model = MODELS.build(cfg.model)
    load_weights(model, checkpoint)
    model.cfg = cfg
    model = model.to(device or default_device())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.eval()
