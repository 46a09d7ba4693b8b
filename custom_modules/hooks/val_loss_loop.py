"""Validation that also computes the training loss on the validation images."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.runner import ValLoop
from mmengine.runner.amp import autocast
from mmseg.registry import LOOPS


def decode_head_losses(head: nn.Module, logits: torch.Tensor,
                       labels: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The decode head's loss terms, as in training (``decode.<loss_name>``).

    Args:
        head: an mmseg decode head (``loss_decode``, ``ignore_index``).
        logits: (N, C, H, W) class scores at the labels' resolution.
        labels: (N, H, W) int64 class ids.
    """
    fns = head.loss_decode if isinstance(head.loss_decode, nn.ModuleList) \
        else [head.loss_decode]
    losses: Dict[str, torch.Tensor] = {}
    for fn in fns:
        key = f'decode.{fn.loss_name}'
        value = fn(logits, labels, weight=None, ignore_index=head.ignore_index)
        losses[key] = losses[key] + value if key in losses else value
    return losses


def batch_losses(head: nn.Module, outputs: Sequence) -> List[tuple]:
    """``[(losses, n_images)]`` for predicted samples with ``seg_logits``.

    Samples are grouped into one batch when their shapes agree (the loss is
    then averaged over the batch's pixels, as in training), else one by one.
    """
    logits = [o.seg_logits.data for o in outputs]
    labels = [o.gt_sem_seg.data.to(logits[0].device).long() for o in outputs]
    if len({tuple(t.shape) for t in logits}) == 1 and \
            len({tuple(t.shape) for t in labels}) == 1:
        groups = [(torch.stack(logits), torch.cat(labels))]
    else:
        groups = [(lo[None], la) for lo, la in zip(logits, labels)]
    return [(decode_head_losses(head, lo.float(), la), lo.shape[0])
            for lo, la in groups]


@LOOPS.register_module()
class ValLossLoop(ValLoop):
    """:class:`mmengine.runner.ValLoop` plus the validation loss.

    For every validation batch, the decode head's own loss functions
    (``loss_decode``, the loss training minimises) are applied to the
    predicted logits (``seg_logits``, resized to the label) and the ground
    truth; the image-weighted mean over the split is added to the metrics as
    ``loss`` (total) and ``decode.<loss_name>``, so it is logged as
    ``val/loss`` next to ``train/loss`` (one ClearML chart, series
    train/val). Auxiliary heads are not run at inference, so for configs
    with one ``train/loss`` also holds the auxiliary term; compare
    ``val/decode.<name>`` with ``train/decode.<name>`` there.

    Models without a ``decode_head`` or predictions without ``seg_logits``
    are validated as by ``ValLoop``, without a loss.
    """

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self._loss_sums: Dict[str, float] = {}
        self._loss_count = 0
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        metrics.update(self.mean_losses() or {})
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def mean_losses(self) -> Optional[Dict[str, float]]:
        if not self._loss_count:
            return None
        out = {k: v / self._loss_count for k, v in self._loss_sums.items()}
        out['loss'] = sum(out.values())
        return out

    def _head(self) -> Optional[nn.Module]:
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        head = getattr(model, 'decode_head', None)
        return head if hasattr(head, 'loss_decode') else None

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        self.runner.call_hook(
            'before_val_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.val_step(data_batch)
        head = self._head()
        if head is not None and outputs and all(
                'seg_logits' in o and 'gt_sem_seg' in o for o in outputs):
            for losses, n in batch_losses(head, outputs):
                for key, value in losses.items():
                    self._loss_sums[key] = self._loss_sums.get(key, 0.0) + \
                        float(value) * n
                self._loss_count += n
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_val_iter', batch_idx=idx, data_batch=data_batch,
            outputs=outputs)
