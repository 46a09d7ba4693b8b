"""ValLossLoop's validation loss and TrainMetricsHook's train mJaccard."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import tiny_segmentor
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from custom_modules.common.errors import UserError
from custom_modules.hooks import TrainMetricsHook
from custom_modules.hooks.val_loss_loop import batch_losses, decode_head_losses


def segmentor(losses=(dict(type='CEDiceLoss'),)):
    return tiny_segmentor(loss_decode=list(losses))


def sample(logits, label):
    """A predicted sample as the evaluator passes it to a metric."""
    s = SegDataSample()
    s.seg_logits = PixelData(data=logits)
    s.gt_sem_seg = PixelData(data=label[None])
    return s.to_dict()


def test_val_loss_is_the_training_loss_of_the_decode_head():
    head = segmentor([dict(type='CEDiceLoss'),
                      dict(type='CrossEntropyLoss', loss_weight=0.5,
                           avg_non_ignore=True)]
                     ).decode_head
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 8, 8, generator=g)
    labels = torch.randint(0, 3, (2, 8, 8), generator=g)
    labels[0, 0] = 255
    losses = decode_head_losses(head, logits, labels)
    assert set(losses) == {'decode.loss_ce_dice', 'decode.loss_ce'}
    # the same numbers the head computes in training (loss_by_feat)
    samples = [SegDataSample() for _ in range(2)]
    for s, lab in zip(samples, labels):
        s.gt_sem_seg = PixelData(data=lab[None])
    train_losses = head.loss_by_feat(logits, samples)
    for key in losses:
        torch.testing.assert_close(losses[key],
                                   train_losses[key.split('.', 1)[1]])
    # grouped as one batch when shapes agree, else one by one
    outs = [sample(logits[i], labels[i]) for i in range(2)]
    (grouped, n), = batch_losses(head, outs)
    assert n == 2
    torch.testing.assert_close(grouped['decode.loss_ce'],
                               losses['decode.loss_ce'])
    odd = sample(torch.randn(3, 4, 6, generator=g),
                 torch.randint(0, 3, (4, 6), generator=g))
    parts = batch_losses(head, outs[:1] + [odd])
    assert [n for _, n in parts] == [1, 1]


class Recorder:
    def __init__(self):
        self.scalars = []

    def add_scalars(self, values, step):
        self.scalars.append((step, values))


def started_hook(model, val_interval=1, **kwargs):
    """A TrainMetricsHook(**kwargs) after ``before_train`` on a stand-in
    runner."""
    runner = SimpleNamespace(
        model=model, visualizer=Recorder(), iter=0, max_iters=10,
        train_loop=SimpleNamespace(val_interval=val_interval, max_iters=10))
    hook = TrainMetricsHook(**kwargs)
    hook.before_train(runner)
    return hook, runner


def test_train_metrics_hook_scores_the_batches_the_loss_sees():
    model = segmentor()
    head = model.decode_head
    hook, runner = started_hook(model, val_interval=2)
    vis = runner.visualizer
    assert hook.interval == 2
    label = torch.zeros(2, 1, 16, 16, dtype=torch.long)
    label[:, :, 4:12, 4:12] = 1
    label[1, :, :2] = 255  # padding / ignore
    samples = []
    for lab in label:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        samples.append(s)
    perfect = torch.nn.functional.one_hot(
        label[:, 0].clamp(max=2), 3).permute(0, 3, 1, 2).float() * 10
    head.loss_by_feat(perfect, samples)
    hook.after_train_iter(runner, 0)
    assert vis.scalars == []  # not an interval iteration yet
    runner.iter = 1
    wrong = perfect.roll(1, dims=1)  # every pixel gets another class
    head.loss_by_feat(wrong, samples)
    hook.after_train_iter(runner, 1)
    (step, values), = vis.scalars
    assert step == 2
    # areas summed over both batches: the wrong one predicts cat on bg and
    # dog on cat, so bg J = 1/2, cat J = n_cat / (2 n_cat + n_bg), dog J = 0
    valid = label[:, 0][label[:, 0] != 255]
    n_bg, n_cat = int((valid == 0).sum()), int((valid == 1).sum())
    expected = 100 * np.mean([0.5, n_cat / (2 * n_cat + n_bg), 0.0])
    assert values['train/mJaccard'] == pytest.approx(expected, abs=0.01)
    hook.after_train(runner)
    assert not head.loss_decode._forward_pre_hooks  # left as it was
    assert 'loss_by_feat' not in vars(head)


def test_train_metrics_hook_counts_at_the_labels_size():
    """Logits at half the labels' size are counted after the loss resizes
    them: every labelled pixel once."""
    model = segmentor()
    head = model.decode_head
    hook, runner = started_hook(model)
    label = torch.ones(2, 1, 16, 16, dtype=torch.long)
    label[0, :, :3] = 255
    samples = []
    for lab in label:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        samples.append(s)
    logits = torch.zeros(2, 3, 8, 8)
    logits[:, 1] = 5.0  # cat everywhere
    head.loss_by_feat(logits, samples)
    areas = hook._areas.numpy()
    labelled = int((label != 255).sum())
    assert areas[2].tolist() == [0, labelled, 0]  # ground truth: all cat
    assert areas[0].tolist() == [0, labelled, 0]  # all predicted right
    hook.after_train_iter(runner, 0)
    (_, values), = runner.visualizer.scalars
    assert values['train/mJaccard'] == 100.0
    hook.after_train(runner)


def test_train_metrics_hook_leaves_out_the_validation_loss():
    """ValLossLoop calls the same loss module on val batches (model in eval
    mode): those must not count as training batches."""
    model = segmentor()
    head = model.decode_head
    hook, runner = started_hook(model)
    logits = torch.zeros(2, 3, 8, 8)
    logits[:, 1] = 5.0
    labels = torch.ones(2, 8, 8, dtype=torch.long)
    model.eval()
    decode_head_losses(head, logits, labels)  # what ValLossLoop runs
    assert hook._areas is None
    model.train()
    decode_head_losses(head, logits, labels)
    assert hook._areas[2].tolist() == [0, 2 * 8 * 8, 0]


@pytest.mark.parametrize('sample_every,interval,counted', [
    (1, 100, 5), (2, 100, 3), (4, 100, 2),
    (4, 2, 3)])  # points every 2 iterations: every 2nd counted, not 4th
def test_train_metrics_hook_counts_the_sampled_iterations_only(
        sample_every, interval, counted):
    """Iterations 0, k, 2k, ... of five: their batches, and no others
    (the sums are not written out here, so they hold all five)."""
    model = segmentor()
    hook, runner = started_hook(model, val_interval=interval,
                                sample_every=sample_every)
    logits = torch.zeros(2, 3, 8, 8)
    logits[:, 1] = 5.0
    labels = torch.ones(2, 8, 8, dtype=torch.long)
    for it in range(5):
        runner.iter = it
        hook.before_train_iter(runner, it)
        decode_head_losses(model.decode_head, logits, labels)
    assert hook._areas[2].tolist() == [0, counted * 2 * 8 * 8, 0]


@pytest.mark.parametrize('bad', [0, -4, 2.5, 'abc'])
def test_train_metrics_hook_rejects_a_sample_every_below_one(bad):
    with pytest.raises(UserError, match='sample_every must be 1 or more'):
        TrainMetricsHook(sample_every=bad)
