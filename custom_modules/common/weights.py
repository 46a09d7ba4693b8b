"""Loading model weights with a readable report of what does not fit."""
from __future__ import annotations

import re
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.runner.checkpoint import _load_checkpoint

from .errors import UserError


class CheckpointMismatchError(UserError):
    """The checkpoint's tensors do not match the model's by name or shape."""


def _listing(items, limit: int = 3) -> str:
    items = list(items)
    more = f' and {len(items) - limit} more' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more


def state_dict_of(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The weights in an mmengine (or plain) checkpoint, 'module.' stripped."""
    state = checkpoint.get('state_dict', checkpoint)
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def load_weights(model: nn.Module, filename: str,
                 map_location: str = 'cpu') -> dict:
    """Load a checkpoint (file, URL, ``torchvision://``...) strictly.

    A :class:`~custom_modules.models.FlipTTA` wrapper is looked through.

    Raises:
        CheckpointMismatchError: names the tensors whose shapes differ
            (checkpoint vs model) and the missing/unexpected ones.

    Returns:
        The whole checkpoint dict (``meta`` included).
    """
    checkpoint = check_weights(model, filename, map_location)
    load_checked(model, checkpoint)
    return checkpoint


def load_checked(model: nn.Module, checkpoint: dict) -> None:
    """Put a checkpoint that :func:`check_weights` found to fit into
    ``model`` (a :class:`~custom_modules.models.FlipTTA` wrapper looked
    through), strictly."""
    getattr(model, 'module', model).load_state_dict(
        state_dict_of(checkpoint), strict=True)


def check_weights(model: nn.Module, filename: str,
                  map_location: str = 'cpu') -> dict:
    """What :func:`load_weights` checks, without changing ``model``.

    For a checkpoint that mmengine itself loads later (``--resume``,
    ``load_from``): its loader is not strict and would start a run from
    partly loaded weights with only a warning.

    Returns:
        The whole checkpoint dict.
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    assert_fits(getattr(model, 'module', model), state_dict_of(checkpoint),
                filename)
    return checkpoint


def assert_fits(model: nn.Module, state: Dict[str, torch.Tensor],
                source: str, fix: str = "Use the config it was trained "
                "with.") -> None:
    """Raise unless ``state`` has exactly ``model``'s tensors and shapes.

    Raises:
        CheckpointMismatchError: one line naming ``source``, the tensors
            whose shapes differ (checkpoint vs model), the missing and the
            unexpected ones, then ``fix``.
    """
    own = model.state_dict()
    shapes = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
              for k, v in own.items() if k in state and
              tuple(state[k].shape) != tuple(v.shape)]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if shapes or missing or unexpected:
        parts = []
        if shapes:
            parts.append(f'{len(shapes)} tensors differ in shape '
                         f'(checkpoint vs model): {_listing(shapes)}')
        if missing:
            parts.append(f'{len(missing)} missing: {_listing(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected: '
                         f'{_listing(unexpected)}')
        raise CheckpointMismatchError(
            f'{source}: does not fit this config\'s model; '
            + '; '.join(parts) + '. ' + fix)


def pretrained_fit(encoder: nn.Module, checkpoint: dict,
                   prefix: str = None) -> dict:
    """How much of ``checkpoint`` an ``init_cfg=dict(type='Pretrained')``
    load puts into ``encoder``, by the rules of mmengine's loader
    (``state_dict`` unwrapped, ``module.`` stripped, keys under ``prefix``
    with the prefix removed; a tensor loads when its name and shape match).
    An encoder with a ``pretrained_state(checkpoint, prefix)`` method (e.g.
    :class:`~custom_modules.models.EfficientNetLite`) picks its own tensors.

    Returns:
        ``loaded`` (tensors that load), ``expected`` (the encoder's; BN
        ``num_batches_tracked`` counters are not counted),
        ``found`` (the file's), ``unfit`` (the file's that load nowhere),
        ``whole_model`` (the file holds a whole segmentor whose
        ``backbone.`` tensors would fit), ``example`` (an encoder tensor
        name) and ``file_example`` (a tensor name of the file).
    """
    own = {k: v for k, v in encoder.state_dict().items()
           if not k.endswith('num_batches_tracked')}  # a counter, no weight
    select = getattr(encoder, 'pretrained_state', None)
    raw = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            raw = raw[key]
            break
    raw = {re.sub(r'^module\.', '', k): v for k, v in raw.items()
           if torch.is_tensor(v)}
    if select is not None:
        state = select(checkpoint, prefix)
    elif prefix:
        state = {k[len(prefix):]: v for k, v in raw.items()
                 if k.startswith(prefix)}
    else:
        state = raw

    def fits(state):
        return [k for k, v in own.items() if k in state and
                torch.is_tensor(state[k]) and
                tuple(state[k].shape) == tuple(v.shape)]

    loaded = fits(state)
    inner = {k[len('backbone.'):]: v for k, v in raw.items()
             if k.startswith('backbone.')}
    if select is not None and inner:
        inner = select({'state_dict': raw}, 'backbone.')
    return dict(loaded=len(loaded), expected=len(own), found=len(raw),
                unfit=len([k for k in state if not k.endswith(
                    'num_batches_tracked')]) - len(loaded),
                whole_model=not loaded and bool(inner) and bool(fits(inner)),
                example=next(iter(own), ''),
                file_example=next(iter(raw), '(none)'))


def file_iteration(path: str) -> Optional[int]:
    """N of a checkpoint file named ``iter_N.pth`` or ``best_*_iter_N.pth``
    (None for other names)."""
    found = re.search(r'iter_(\d+)\.pth$', path)
    return int(found.group(1)) if found else None
