"""Train mJaccard/mDice from the training batches, for the learning curves."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..common.class_ids import class_ids
from ..common.errors import UserError
from ..evaluation.jaccard_metric import class_area_counts, scores_from_areas


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class TrainMetricsHook(Hook):
    """Log ``train/mJaccard`` and ``train/mDice`` from the training batches.

    The decode head's loss (its first ``loss_decode`` module) gets every
    training batch's logits, already resized to the labels by mmseg's
    ``loss_by_feat``, and the (padded) labels; a forward pre-hook on it
    records their per-class areas (the counts the validation metric makes,
    :func:`class_area_counts`: one ``bincount`` per batch, summed on the
    model's device), of training batches only: the validation loss
    (:class:`ValLossLoop`) calls the same module in eval mode. Every
    ``interval`` iterations the sum is copied to the host once and the
    mJaccard/mDice over the batches since the last write is logged (in
    percent, classes absent from both ignored). :meth:`record` runs inside
    the forward pass, so ``benchmarks/throughput.py`` times it as this
    hook's cost. The numbers are on augmented crops in train mode,
    so they trail and sit apart from the val curve: the gap is the
    overfitting signal.

    Args:
        interval: iterations per point; None (default) uses the training
            loop's ``val_interval``, so every val point has a train point.
        sample_every: count the batches of every k-th iteration only
            (iterations 0, k, 2k, ...; 1: every batch), k being
            ``sample_every`` or ``interval`` if that is smaller, so that
            every point has batches. A point then scores a sample of its
            interval's batches: the same seed gives the same values, at
            1/k of the counting time (``configs/_base_/default_runtime.py``
            uses 4).
    """

    priority = 'NORMAL'

    def __init__(self, interval: Optional[int] = None,
                 sample_every: int = 1) -> None:
        if not isinstance(sample_every, int) or sample_every < 1:
            raise UserError(
                f'TrainMetricsHook: sample_every must be 1 or more, got '
                f'{sample_every!r}; fix default_hooks.train_metrics.'
                f'sample_every in the config or --cfg-options (1 counts '
                f'every batch)')
        self.interval = interval
        self.sample_every = sample_every
        self._every = sample_every  # capped at the interval by before_train
        self._sampled = True  # whether this iteration's batch is counted
        self._areas: Optional[torch.Tensor] = None  # (3, C), summed
        self._handle = None

    def before_train(self, runner) -> None:
        head = getattr(_unwrap(runner.model), 'decode_head', None)
        losses = getattr(head, 'loss_decode', None)
        if isinstance(losses, torch.nn.ModuleList):
            losses = losses[0] if len(losses) else None
        if not isinstance(losses, torch.nn.Module):
            print_log('TrainMetricsHook: the model has no decode head with '
                      'a loss_decode module; no train mJaccard',
                      logger='current', level=30)
            return
        if self.interval is None:
            loop = runner.train_loop
            self.interval = int(getattr(loop, 'val_interval', 50) or 50)
            if type(loop).__name__ == 'EpochBasedTrainLoop':  # epochs -> iters
                self.interval *= len(runner.train_dataloader)
        # every point gets batches: sample at least once per interval
        self._every = max(1, min(self.sample_every, self.interval))

        def before_loss(module, args, kwargs):
            # not ValLossLoop's loss on val batches (eval mode)
            if not module.training or not self._sampled:
                return
            logits, labels = args[:2]
            self.record(logits, labels, head.num_classes,
                        kwargs.get('ignore_index', head.ignore_index))

        self._handle = losses.register_forward_pre_hook(before_loss,
                                                        with_kwargs=True)

    @torch.no_grad()
    def record(self, seg_logits: torch.Tensor, labels: torch.Tensor,
               num_classes: int, ignore_index: int = 255) -> None:
        """Add one batch's class areas to the running sum.

        Args:
            seg_logits: (N, C, H, W) logits at the labels' size.
            labels: (N, H, W) class ids, ``ignore_index`` where unlabelled
                or padded.
            num_classes: C.
            ignore_index: label value left out.
        """
        logits = seg_logits.detach()
        areas = class_area_counts(class_ids(logits, dim=1),
                                  labels.to(logits.device), num_classes,
                                  ignore_index)
        self._areas = areas if self._areas is None else self._areas + areas

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._sampled = runner.iter % self._every == 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._areas is None or not self.interval:
            return
        if not (self.every_n_train_iters(runner, self.interval) or
                self.is_last_train_iter(runner)):
            return
        scores = scores_from_areas(self._areas.cpu().numpy())
        self._areas = None
        runner.visualizer.add_scalars(
            {f'train/m{k}': round(100 * float(np.nanmean(scores[k])), 2)
             for k in ('Jaccard', 'Dice')}, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()  # the loss module is left as it was
        self._handle = None
