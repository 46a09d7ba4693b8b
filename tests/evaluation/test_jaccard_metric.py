"""JaccardMetric against direct counts and mmseg's IoUMetric."""
import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from custom_modules.evaluation import (JaccardMetric, image_jaccard,
                                       scores_from_areas)

META = dict(classes=('background', 'cat', 'dog'))


def _samples(n=5, size=16, seed=0):
    g = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gt = g.integers(0, 3, (size, size))
        gt[0, :4] = 255
        pred = np.where(g.random((size, size)) < 0.7, gt, g.integers(0, 3))
        pred[pred == 255] = 0
        s = SegDataSample(metainfo=dict(img_path=f'img_{i}.jpg'))
        s.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        s.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        out.append((gt, pred, s.to_dict()))
    return out


def _evaluate(metric, samples):
    metric.dataset_meta = META
    metric.process({}, [s for _, _, s in samples])
    return metric.evaluate(len(samples))


def test_scores_equal_direct_count_over_whole_split():
    samples = _samples()
    metrics = _evaluate(JaccardMetric(), samples)
    gt = np.concatenate([g.ravel() for g, _, _ in samples])
    pred = np.concatenate([p.ravel() for _, p, _ in samples])
    valid = gt != 255
    gt, pred = gt[valid], pred[valid]
    for c, name in enumerate(META['classes']):
        inter = np.sum((gt == c) & (pred == c))
        union = np.sum((gt == c) | (pred == c))
        dice = 2 * inter / (np.sum(gt == c) + np.sum(pred == c))
        assert metrics[f'Jaccard.{name}'] == pytest.approx(
            100 * inter / union, abs=0.01)
        assert metrics[f'Dice.{name}'] == pytest.approx(100 * dice, abs=0.01)
    assert metrics['mJaccard'] == pytest.approx(np.mean(
        [metrics[f'Jaccard.{n}'] for n in META['classes']]), abs=0.02)
    assert metrics['aAcc'] == pytest.approx(100 * np.mean(gt == pred),
                                            abs=0.01)


def test_agrees_with_mmseg_iou_metric():
    samples = _samples(seed=3)
    ours = _evaluate(JaccardMetric(), samples)
    theirs = _evaluate(IoUMetric(iou_metrics=['mIoU', 'mDice']), samples)
    assert ours['mJaccard'] == pytest.approx(theirs['mIoU'], abs=0.01)
    assert ours['mDice'] == pytest.approx(theirs['mDice'], abs=0.01)


def test_per_image_scores_rank_images():
    metric = JaccardMetric()
    samples = _samples(n=4)
    perfect = samples[2][2]
    perfect['pred_sem_seg']['data'] = perfect['gt_sem_seg']['data'].clone()
    perfect['pred_sem_seg']['data'][perfect['pred_sem_seg']['data'] == 255] = 0
    _evaluate(metric, samples)
    scores = [r['jaccard'] for r in metric.per_image]
    assert [r['img_path'] for r in metric.per_image] == [
        f'img_{i}.jpg' for i in range(4)]
    assert int(np.argmax(scores)) == 2 and scores[2] == pytest.approx(1.0)


def test_image_jaccard_ignores_classes_absent_from_both():
    # only background and cat appear; cat half right
    areas = np.array([[10, 5, 0],     # intersection
                      [10, 10, 0],    # predicted
                      [15, 5, 0]])    # ground truth
    jac = scores_from_areas(areas)['Jaccard']
    assert np.isnan(jac[2])
    assert image_jaccard(areas) == pytest.approx((10 / 15 + 5 / 10) / 2)


def test_batch_counts_are_the_sum_of_per_image_areas():
    from custom_modules.evaluation.jaccard_metric import (class_area_counts,
                                                          class_areas)
    gen = torch.Generator().manual_seed(1)
    label = torch.randint(0, 3, (4, 16, 16), generator=gen)
    pred = torch.randint(0, 3, (4, 16, 16), generator=gen)
    label[:, :3] = 255
    counts = class_area_counts(pred, label, 3)
    assert counts.dtype == torch.int64 and counts.shape == (3, 3)
    per_image = sum(class_areas(p, lab, 3) for p, lab in zip(pred, label))
    assert np.array_equal(counts.numpy(), per_image)
    valid = label != 255
    assert counts[2].sum() == valid.sum()  # ground-truth areas
    assert counts[0, 1] == ((pred == 1) & (label == 1)).sum()


def test_labels_outside_the_classes_are_not_counted():
    from custom_modules.evaluation.jaccard_metric import class_area_counts
    label = torch.tensor([[0, 1, 2, 7]])
    pred = torch.tensor([[0, 1, 1, 0]])
    assert class_area_counts(pred, label, 3).tolist() == [
        [1, 1, 0], [1, 2, 0], [1, 1, 1]]
