"""Files a test run leaves behind: masks, overlays, per-class and per-image scores."""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..compat.robustness import atomic_write
from ..evaluation import confusion_record
from ..evaluation.jaccard_metric import format_class_table, scores_from_areas
from .confusion_matrix_hook import split_confusion
from ..common.overlay import (comparison_picture, prediction_picture,
                                read_rgb, write_rgb)
from ..common.worst import rank_images, row_title, stem, worst_grid
from .curves_hook import clearml_backend


def trained_iters(runner) -> int:
    """The runner's iteration, without building its training loop.

    ``runner.iter`` builds the train loop, hence the train dataloader and
    dataset: a test on a folder with only the tested split failed on the
    missing ``img/train``. A test-only runner has trained 0 iterations.
    """
    loop = getattr(runner, '_train_loop', None)
    if loop is None or isinstance(loop, dict):
        return 0
    return runner.iter


@HOOKS.register_module()
class TestOutputsHook(Hook):
    """Write what ``tools/test.py`` promises; declared in the base runtime
    (``default_hooks.test_outputs``), so any test run of these configs
    writes the results files.

    Args:
        results_file: JSON with the metrics (percent) and the per-class
            table (default: ``<work_dir>/test_results<suffix>.json``).
        per_image_csv: CSV, one row per image: its Jaccard (mean over the
            classes present in GT or prediction, in [0, 1]) and per-class
            Jaccard (default: ``<work_dir>/per_image<suffix>.csv``).
        out_dir: predicted masks as PNG (uint8 class ids), one per image.
        show_dir: image | ground truth | prediction | errors PNG per image.
        worst: rank images by their Jaccard and picture the ``worst``
            lowest: one grid PNG (image | ground truth | prediction |
            errors, worst first) at ``worst_png`` and every image's scores,
            worst first with a rank, at ``worst_csv``; the grid is logged to
            the visualizer (ClearML) too. 0 turns it off.
        worst_png, worst_csv: where those go (default: beside
            ``results_file``, ``worst<suffix>.png`` / ``.csv``).
        suffix: added to the default file names (``tools/test.py --tta``
            sets ``'_tta'``, so plain and TTA results sit side by side).

    ``results_file`` holds ``metrics``, the per-class ``table``, the
    ``confusion`` matrix (pixel counts and row-normalised percent, rows =
    ground truth), ``provenance`` (what was tested, on which data:
    :func:`custom_modules.tools.provenance.test_provenance`, set by
    ``tools/test.py`` as :attr:`provenance`) and ``files``, the other files
    of this test (``per_image.csv`` ...), which have no provenance of their
    own.
    """

    priority = 'NORMAL'

    def __init__(self, results_file: Optional[str] = None,
                 per_image_csv: Optional[str] = None,
                 out_dir: Optional[str] = None,
                 show_dir: Optional[str] = None, worst: int = 0,
                 worst_png: Optional[str] = None,
                 worst_csv: Optional[str] = None, suffix: str = '') -> None:
        self.results_file = results_file
        self.per_image_csv = per_image_csv
        self.out_dir = out_dir
        self.show_dir = show_dir
        self.worst = worst
        self.worst_png = worst_png
        self.worst_csv = worst_csv
        self.suffix = suffix
        self._masks: dict = {}  # img_path -> (pred PNG bytes, gt PNG bytes)
        #: What was tested (checkpoint, hash, data...); None outside
        #: tools/test.py.
        self.provenance: Optional[dict] = None

    def resolve_paths(self, work_dir: Optional[str]) -> None:
        """Fill the file names not given, from the run's work dir (or the
        folder of ``results_file``, or the current one)."""
        s = self.suffix
        work_dir = work_dir or (osp.dirname(osp.abspath(self.results_file))
                                if self.results_file else '.')
        self.results_file = self.results_file or osp.join(
            work_dir, f'test_results{s}.json')
        self.per_image_csv = self.per_image_csv or osp.join(
            work_dir, f'per_image{s}.csv')
        folder = osp.dirname(osp.abspath(self.results_file))
        self.worst_png = self.worst_png or osp.join(folder, f'worst{s}.png')
        self.worst_csv = self.worst_csv or osp.join(folder, f'worst{s}.csv')

    def before_test(self, runner) -> None:
        self.resolve_paths(getattr(runner, 'work_dir', None))
        for folder in (self.out_dir, self.show_dir):
            if folder:
                os.makedirs(folder, exist_ok=True)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Sequence = ()) -> None:
        if not (self.out_dir or self.show_dir or self.worst):
            return
        for sample in outputs:
            pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy()\
                .astype(np.uint8)
            gt = (sample.gt_sem_seg.data.squeeze(0).cpu().numpy()
                  .astype(np.uint8) if 'gt_sem_seg' in sample else None)
            name = stem(sample.img_path)
            if self.worst and gt is not None:
                self._masks[sample.img_path] = (
                    cv2.imencode('.png', pred)[1].tobytes(),
                    cv2.imencode('.png', gt)[1].tobytes())
            if self.out_dir:
                cv2.imwrite(osp.join(self.out_dir, f'{name}.png'), pred)
            if self.show_dir:
                image = read_rgb(sample.img_path)
                picture = (comparison_picture(image, gt, pred, name)
                           if gt is not None else
                           prediction_picture(image, pred, name))
                write_rgb(osp.join(self.show_dir, f'{name}.png'), picture)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        metrics = dict(metrics or {})
        classes = runner.test_evaluator.dataset_meta['classes']
        table = format_class_table(metrics, classes)  # logged by the metric
        confusion = split_confusion(runner.test_evaluator)
        runner.visualizer.add_scalars(
            {f'test/{k}': v for k, v in metrics.items()},
            step=trained_iters(runner))
        per_image = self.per_image(runner)
        files = {}
        if self.per_image_csv and per_image:
            write_per_image_csv(self.per_image_csv, per_image, classes)
            files['per_image_csv'] = osp.abspath(self.per_image_csv)
        if self.worst and per_image:
            self.write_worst(runner, per_image, classes)
            files.update(worst_png=osp.abspath(self.worst_png),
                         worst_csv=osp.abspath(self.worst_csv))
        record = dict(
            metrics=metrics, table=table,
            confusion=None if confusion is None else
            confusion_record(confusion, classes),
            provenance=self.provenance, files=files)
        os.makedirs(osp.dirname(osp.abspath(self.results_file)), exist_ok=True)
        atomic_write(self.results_file, json.dumps(record, indent=2).encode())
        print_log(f'results: {self.results_file}', logger='current')
        backend = clearml_backend(runner)
        if backend is not None and confusion is not None:
            backend.add_confusion_matrix('test', confusion, classes,
                                         trained_iters(runner))
        self._masks = {}

    def write_worst(self, runner, per_image: list,
                    classes: Sequence[str]) -> None:
        """Ranked CSV of every image and the grid of the ``worst`` lowest."""
        ranked = rank_images(per_image)
        write_per_image_csv(self.worst_csv, ranked, classes, rank=True)
        rows = []
        for rec in ranked[:self.worst]:
            if rec['img_path'] not in self._masks:
                continue
            pred, gt = (cv2.imdecode(np.frombuffer(b, np.uint8),
                                     cv2.IMREAD_UNCHANGED)
                        for b in self._masks[rec['img_path']])
            rows.append((read_rgb(rec['img_path']), gt, pred,
                         row_title(rec)))
        if rows:
            grid = worst_grid(rows)
            write_rgb(self.worst_png, grid)
            runner.visualizer.add_image(
                osp.splitext(osp.basename(self.worst_png))[0], grid,
                step=trained_iters(runner))
            print_log(f'worst {len(rows)}: {self.worst_png} (scores of '
                      f'every image, worst first: {self.worst_csv})\n' +
                      '\n'.join(f'  {row_title(r)}'
                                 for r in ranked[:len(rows)]),
                      logger='current')
        backend = clearml_backend(runner)
        if backend is not None:
            for path in (self.worst_png, self.worst_csv):
                if osp.isfile(path):
                    backend.upload_file(osp.basename(path), path)

    @staticmethod
    def per_image(runner) -> list:
        """Per-image records of the first metric that keeps them."""
        for metric in runner.test_evaluator.metrics:
            if getattr(metric, 'per_image', None):
                return metric.per_image
        return []


def write_per_image_csv(path: str, per_image: list,
                        classes: Sequence[str], rank: bool = False) -> None:
    """One row per image, in the given order: img_path, jaccard,
    Jaccard.<class>... (in [0, 1]); with ``rank``, a first column ``rank``
    (1, 2, ...)."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow((['rank'] if rank else []) + ['img_path', 'jaccard'] +
                        [f'Jaccard.{c}' for c in classes])
        for i, rec in enumerate(per_image, 1):
            jac = scores_from_areas(rec['areas'])['Jaccard']
            writer.writerow(([i] if rank else []) +
                            [rec['img_path'], f'{rec["jaccard"]:.4f}'] +
                            ['' if np.isnan(v) else f'{v:.4f}' for v in jac])
