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


# --- the confusion matrix -------------------------------------------------

def _sample(gt, pred, name='x.jpg'):
    s = SegDataSample(metainfo=dict(img_path=name))
    s.gt_sem_seg = PixelData(data=torch.tensor(gt)[None])
    s.pred_sem_seg = PixelData(data=torch.tensor(pred)[None])
    return s.to_dict()


# two images; 255 labels and the out-of-range prediction 7 are left out
GT_A = [[0, 0, 1, 1],
        [1, 1, 2, 255]]
PRED_A = [[0, 1, 1, 2],
          [2, 2, 2, 1]]
GT_B = [[2, 2, 0, 255],
        [1, 2, 0, 1]]
PRED_B = [[1, 2, 0, 0],
          [7, 2, 2, 1]]
#: rows = ground truth, columns = prediction, counted by hand
CONFUSION_A = [[1, 1, 0],    # bg: (0,0) (0,1)
               [0, 1, 3],    # cat: (1,1) (1,2) (1,2) (1,2)
               [0, 0, 1]]    # dog: (2,2); (255,1) ignored
CONFUSION_B = [[1, 0, 1],    # bg: (0,0) (0,2)
               [0, 1, 0],    # cat: (1,1); (1,7) out of range
               [0, 1, 2]]    # dog: (2,1) (2,2) (2,2); (255,0) ignored


def test_confusion_matrix_equals_hand_count_over_the_split():
    metric = JaccardMetric()
    metric.dataset_meta = META
    metric.process({}, [_sample(GT_A, PRED_A, 'a.jpg'),
                        _sample(GT_B, PRED_B, 'b.jpg')])
    metrics = metric.evaluate(2)
    assert metric.confusion.dtype == np.int64
    assert metric.confusion.tolist() == (
        np.array(CONFUSION_A) + CONFUSION_B).tolist()
    # the metrics dict stays scalar-only, the same keys as before
    assert all(np.isscalar(v) for v in metrics.values())
    assert 'confusion' not in metrics and len(metrics) == 4 + 3 * 3
    # per-image records: small, areas derived from each image's matrix
    assert [r['areas'].tolist() for r in metric.per_image] == [
        [[1, 1, 1], [1, 2, 4], [2, 4, 1]],
        [[1, 1, 2], [1, 2, 3], [2, 1, 3]]]
    assert set(metric.per_image[0]) == {'img_path', 'jaccard', 'areas'}


def test_confusion_sums_over_two_process_calls():
    metric = JaccardMetric()
    metric.dataset_meta = META
    metric.process({}, [_sample(GT_A, PRED_A, 'a.jpg')])
    metric.process({}, [_sample(GT_B, PRED_B, 'b.jpg')])
    metric.evaluate(2)
    assert metric.confusion.tolist() == [[2, 1, 1], [0, 2, 3], [0, 1, 3]]
    assert [r['img_path'] for r in metric.per_image] == ['a.jpg', 'b.jpg']


def test_metrics_and_areas_are_unchanged_and_come_from_the_confusion():
    from custom_modules.evaluation import areas_from_confusion
    metric = JaccardMetric()
    metrics = _evaluate(metric, _samples())
    # values the same inputs gave before the confusion matrix was kept
    assert dict(metrics) == {
        'aAcc': 80.87, 'mJaccard': 67.94, 'mDice': 80.9, 'mAcc': 80.72,
        'Jaccard.background': 68.81, 'Jaccard.cat': 69.16,
        'Jaccard.dog': 65.85, 'Dice.background': 81.52, 'Dice.cat': 81.77,
        'Dice.dog': 79.41, 'Acc.background': 75.38, 'Acc.cat': 84.09,
        'Acc.dog': 82.7}
    assert [r['areas'].tolist() for r in metric.per_image[:2]] == [
        [[58, 78, 63], [58, 131, 63], [78, 78, 96]],
        [[50, 62, 86], [50, 62, 140], [74, 92, 86]]]
    total = np.sum([r['areas'] for r in metric.per_image], axis=0)
    assert np.array_equal(areas_from_confusion(metric.confusion), total)
    assert metric.confusion.sum() == sum(
        int((g != 255).sum()) for g, _, _ in _samples())


def test_class_confusion_is_what_class_area_counts_reduce():
    from custom_modules.evaluation.jaccard_metric import (class_area_counts,
                                                          class_confusion)
    label = torch.tensor([GT_A, GT_B])
    pred = torch.tensor([PRED_A, PRED_B])
    confusion = class_confusion(pred, label, 3)
    assert confusion.dtype == torch.int64
    assert confusion.tolist() == (np.array(CONFUSION_A) +
                                  CONFUSION_B).tolist()
    counts = class_area_counts(pred, label, 3)
    assert counts.tolist() == [confusion.diagonal().tolist(),
                               confusion.sum(0).tolist(),
                               confusion.sum(1).tolist()]


def test_row_normalised_and_the_json_record():
    import json
    from custom_modules.evaluation import confusion_record, row_normalised
    confusion = np.array([[6, 2, 0], [1, 2, 1], [0, 0, 0]], np.int64)
    rates = row_normalised(confusion)
    assert rates[0].tolist() == [0.75, 0.25, 0.0]
    assert rates[1].tolist() == [0.25, 0.5, 0.25]
    assert rates[2].tolist() == [0.0, 0.0, 0.0]  # no ground truth: zeros
    record = confusion_record(np.array([[1, 2, 0], [1, 1, 1], [0, 0, 0]]),
                              META['classes'])
    assert json.loads(json.dumps(record, allow_nan=False)) == {
        'classes': ['background', 'cat', 'dog'],
        'counts': [[1, 2, 0], [1, 1, 1], [0, 0, 0]],
        'row_normalised': [[33.33, 66.67, 0.0], [33.33, 33.33, 33.33],
                           [0.0, 0.0, 0.0]]}


def test_format_confusion_table_shows_counts_and_row_percentages():
    from custom_modules.evaluation import format_confusion_table
    confusion = np.array([[900000, 50000, 50000],
                          [2000, 6000, 2000],
                          [0, 1000, 3000]])
    table = format_confusion_table(confusion, META['classes'])
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = {}
    for line in lines:
        if line.startswith('true '):
            cls, *cells = line.split()[1:]
            rows.setdefault(cls, []).append(cells)
    assert rows['background'] == [['900000', '50000', '50000'],
                                  ['90.00', '5.00', '5.00']]
    assert rows['cat'] == [['2000', '6000', '2000'],
                           ['20.00', '60.00', '20.00']]
    assert rows['dog'] == [['0', '1000', '3000'], ['0.00', '25.00', '75.00']]
    header = [line.split() for line in lines if 'true' not in line
              and line.split()[:1] == ['background']]
    assert header == [list(META['classes'])] * 2
