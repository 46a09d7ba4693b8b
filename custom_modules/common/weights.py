"""Loading model weights with a readable report of what does not fit."""
from __future__ import annotations

import re
from typing import Dict

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
    getattr(model, 'module', model).load_state_dict(
        state_dict_of(checkpoint), strict=True)
    return checkpoint


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
