"""ValLossLoop in a real validation run: the val metrics plus ``val/loss``
and ``val/decode.<loss_name>``, the decode head's training loss on the
val images (image-weighted mean over the split)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from custom_modules.hooks.val_loss_loop import ValLossLoop
from helpers import tiny_segmentor_cfg

SIZE = 16
LOSSES = [dict(type='CEDiceLoss'),
          dict(type='CrossEntropyLoss', loss_weight=0.5, avg_non_ignore=True)]


def runner_cfg(data_root, work_dir, loop, batch_size):
    """The tiny segmentor of ``helpers.tiny_segmentor`` validated on the
    tiny pets val split (4 images, 64x64 masks, 16x16 inputs)."""
    model = tiny_segmentor_cfg(SIZE, loss_decode=LOSSES)
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=True),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    return Config(dict(
        model=model, work_dir=str(work_dir), default_scope='mmseg',
        experiment_name=f'{loop}_{batch_size}_{work_dir.name}',
        val_dataloader=dict(
            batch_size=batch_size, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='PetsDataset', data_root=str(data_root),
                         split='val', pipeline=pipeline)),
        val_evaluator=dict(type='JaccardMetric'), val_cfg=dict(type=loop),
        env_cfg=dict(cudnn_benchmark=False), log_level='WARNING'))


def expected_losses(runner):
    """The head's training loss (``loss_by_feat``) on each val batch,
    averaged over the images."""
    model = runner.model
    sums, count = {}, 0
    with torch.no_grad():
        for batch in runner.val_dataloader:
            outputs = model.val_step(batch)
            logits = torch.stack([o.seg_logits.data for o in outputs])
            losses = model.decode_head.loss_by_feat(logits, outputs)
            for key, value in losses.items():
                if not key.startswith('loss'):  # acc_seg
                    continue
                sums[key] = sums.get(key, 0.0) + float(value) * len(outputs)
            count += len(outputs)
    return {f'decode.{k}': v / count for k, v in sums.items()}


@pytest.mark.parametrize('batch_size', [1, 3])
def test_a_val_run_records_the_val_loss(tiny_pets, tmp_path, batch_size):
    torch.manual_seed(0)
    runner = Runner.from_cfg(runner_cfg(tiny_pets, tmp_path, 'ValLossLoop',
                                        batch_size))
    metrics = runner.val()
    assert isinstance(runner.val_loop, ValLossLoop)
    expected = expected_losses(runner)
    assert set(expected) == {'decode.loss_ce_dice', 'decode.loss_ce'}
    expected['loss'] = sum(expected.values())
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-5), key
        logged = runner.message_hub.get_scalar(f'val/{key}').current()
        assert logged == pytest.approx(value, rel=1e-5), key
    assert 'mJaccard' in metrics  # the evaluator's metrics as before
    assert runner.message_hub.get_scalar('val/mJaccard') is not None
    # metrics first, then the losses; no metric prefix, no mmengine
    # val_loss of its own
    assert list(metrics)[-3:] == ['decode.loss_ce_dice', 'decode.loss_ce',
                                  'loss']
    assert 'val_loss' not in metrics
    # validating again gives the same numbers (nothing carried over)
    assert runner.val_loop.run() == pytest.approx(metrics)


def test_a_model_without_decode_head_losses_validates_as_val_loop(
        tiny_pets, tmp_path):
    runner = Runner.from_cfg(runner_cfg(tiny_pets, tmp_path, 'ValLossLoop',
                                        2))
    del runner.model.decode_head.loss_decode
    metrics = runner.val()
    assert 'mJaccard' in metrics and 'loss' not in metrics
    assert len(runner.val_evaluator.metrics) == 1
