"""Validation that also computes the training loss on the validation images."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import is_model_wrapper
from mmengine.runner import ValLoop
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


def batch_losses(head: nn.Module, samples: Sequence[dict]) -> List[tuple]:
    """``[(losses, n_images)]`` for predicted samples (as the evaluator
    passes them: ``sample['seg_logits']['data']``, ``['gt_sem_seg']``).

    Samples are grouped into one batch when their shapes agree (the loss is
    then averaged over the batch's pixels, as in training), else one by one.
    """
    logits = [s['seg_logits']['data'] for s in samples]
    labels = [s['gt_sem_seg']['data'].to(logits[0].device).long()
              for s in samples]
    if len({tuple(t.shape) for t in logits}) == 1 and \
            len({tuple(t.shape) for t in labels}) == 1:
        groups = [(torch.stack(logits), torch.cat(labels))]
    else:
        groups = [(lo[None], la) for lo, la in zip(logits, labels)]
    return [(decode_head_losses(head, lo.float(), la), lo.shape[0])
            for lo, la in groups]


class _DecodeHeadLoss(BaseMetric):
    """The decode head's loss on the predicted samples, as metrics: the
    image-weighted mean of each ``decode.<loss_name>`` and their sum
    ``loss``. One result per image, so the mean covers the whole split in
    a distributed run too (mmengine drops the sampler's padding)."""

    #: '' (not None): no prefix, and no mmengine warning that none is set.
    default_prefix: Optional[str] = ''

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if not data_samples or not all(
                'seg_logits' in s and 'gt_sem_seg' in s for s in data_samples):
            return
        for losses, n in batch_losses(self.head, data_samples):
            values = {k: float(v) for k, v in losses.items()}
            self.results.extend([values] * n)

    def compute_metrics(self, results: list) -> dict:
        if not results:
            return {}
        sums: Dict[str, float] = {}
        for values in results:
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value
        out = {k: v / len(results) for k, v in sums.items()}
        out['loss'] = sum(out.values())
        return out


@LOOPS.register_module()
class ValLossLoop(ValLoop):
    """:class:`mmengine.runner.ValLoop` plus the validation loss.

    The decode head's own loss functions (``loss_decode``, the loss
    training minimises) are applied to the predicted logits
    (``seg_logits``, resized to the label) and the ground truth of every
    validation batch, by one more metric in the loop's evaluator; the
    image-weighted mean over the split is added to the metrics as ``loss``
    (total) and ``decode.<loss_name>``, so it is logged as ``val/loss`` next
    to ``train/loss`` (one ClearML chart, series train/val). Auxiliary heads
    are not run at inference, so for configs with one ``train/loss`` also
    holds the auxiliary term; compare ``val/decode.<name>`` with
    ``train/decode.<name>`` there.

    Models without a ``decode_head`` (with ``loss_decode``) are validated
    as by ``ValLoop``, and so are predictions without ``seg_logits``.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        head = getattr(model, 'decode_head', None)
        if hasattr(head, 'loss_decode'):
            self.evaluator.metrics.append(_DecodeHeadLoss(head))
