"""Pure-PyTorch stand-ins for the ``mmcv.ops`` names mmseg imports.

mmseg 1.2.2 imports ``point_sample`` and ``sigmoid_focal_loss`` from
``mmcv.ops`` at module level, and ``mmcv/ops/__init__.py`` loads the
compiled ``mmcv._ext`` that mmcv-lite does not have, so ``import
mmseg.models`` fails. When ``mmcv._ext`` is absent, :func:`install`
registers a stand-in ``mmcv.ops`` that serves pure-PyTorch versions of
those two names and raises ``ModuleNotFoundError`` (the exception mmseg's
guarded imports catch) naming the op for anything else. With a full mmcv
build it steps aside.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['point_sample', 'sigmoid_focal_loss', 'install', 'needed']


def point_sample(input: Tensor,
                 points: Tensor,
                 align_corners: bool = False,
                 **kwargs) -> Tensor:
    """Sample ``input`` at normalised ``points`` (same contract as mmcv's).

    Args:
        input: features, shape (N, C, H, W).
        points: (x, y) in [0, 1], shape (N, P, 2) or (N, Hgrid, Wgrid, 2).
        align_corners: passed to :func:`torch.nn.functional.grid_sample`.

    Returns:
        Shape (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    output = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if add_dim else output


def sigmoid_focal_loss(input: Tensor,
                       target: Tensor,
                       gamma: float = 2.0,
                       alpha: float = 0.25,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean') -> Tensor:
    """Sigmoid focal loss with mmcv's compiled-op contract.

    Args:
        input: logits, shape (N, C).
        target: class index per row, shape (N,), int64 in [0, C]; C means
            "no class" (every column is a negative).
        gamma, alpha: focal parameters (Lin et al. 2017).
        weight: optional per-class weight, shape (C,), applied by each row's
            target class as mmcv does.
        reduction: 'none' (N, C), 'mean' (sum / N) or 'sum'.
    """
    assert target.dim() == 1 and input.size(0) == target.size(0)
    num_classes = input.size(1)
    one_hot = F.one_hot(target.clamp(max=num_classes),
                        num_classes + 1)[:, :num_classes].to(input.dtype)
    p = input.sigmoid()
    tiny = torch.finfo(input.dtype).tiny
    pos = -alpha * (1 - p).pow(gamma) * p.clamp(min=tiny).log()
    neg = -(1 - alpha) * p.pow(gamma) * (1 - p).clamp(min=tiny).log()
    loss = one_hot * pos + (1 - one_hot) * neg
    if weight is not None:
        assert weight.dim() == 1 and weight.numel() == num_classes
        padded = torch.cat([weight, weight.new_ones(1)])
        loss = loss * padded[target].unsqueeze(1)
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    return loss.sum() / input.size(0)


_STAND_INS = {'point_sample': point_sample,
              'sigmoid_focal_loss': sigmoid_focal_loss}


class _OpsStandIn(types.ModuleType):
    """``mmcv.ops`` replacement for installs without compiled extensions."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        if name in _STAND_INS:
            return _STAND_INS[name]
        raise ModuleNotFoundError(
            f'mmcv.ops.{name} needs the compiled mmcv build; this install has '
            'mmcv-lite (see README "Using a full mmcv build").',
            name=f'mmcv.ops.{name}')



def needed() -> Optional[str]:
    """None when the stand-in is needed, else why it steps aside."""
    if importlib.util.find_spec('mmcv') is None:
        return 'mmcv is not installed'
    if importlib.util.find_spec('mmcv._ext') is not None:
        return 'a full mmcv build (mmcv._ext) is installed'
    loaded = sys.modules.get('mmcv.ops')
    if loaded is not None and not isinstance(loaded, _OpsStandIn):
        return 'mmcv.ops is already imported'
    return None


def install() -> None:
    """Register the stand-in as ``mmcv.ops`` (once)."""
    if isinstance(sys.modules.get('mmcv.ops'), _OpsStandIn):
        return
    module = _OpsStandIn('mmcv.ops', doc=_OpsStandIn.__doc__)
    module.__path__ = []  # a package, so ``import mmcv.ops.x`` fails cleanly
    sys.modules['mmcv.ops'] = module
    import mmcv
    mmcv.ops = module
