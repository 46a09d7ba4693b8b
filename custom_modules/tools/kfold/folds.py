"""Cutting the training split into stratified folds, and the fold jobs."""
from __future__ import annotations

import json
import os.path as osp
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ... import plugins  # noqa: F401  (the patched, registered stack first)
import cv2
import numpy as np
from mmengine.config import Config

from ...common.errors import UserError
from ...common.worst import stem

SPECIES = ('none', 'cat', 'dog', 'both')


def pet_species(mask: np.ndarray, cat: int = 1, dog: int = 2) -> str:
    """'cat', 'dog', 'both' or 'none': which pets a mask shows."""
    has_cat, has_dog = bool((mask == cat).any()), bool((mask == dog).any())
    return SPECIES[has_cat + 2 * has_dog]


def stratified_folds(labels: Sequence[str], k: int,
                     seed: int = 0) -> List[List[int]]:
    """Split positions ``0..len(labels)-1`` into ``k`` folds by stratum.

    Each stratum (positions sharing a label) is shuffled with
    ``random.Random(seed)`` (strata in sorted order) and dealt round-robin;
    the dealing continues across strata, so every stratum's count differs by
    at most one between folds and so do the fold sizes. Same labels, k and
    seed, same folds. Each fold is a sorted list.

    Raises:
        UserError: k < 2 or more folds than items.
    """
    if k < 2:
        raise UserError(f'--folds {k}: need at least 2 folds')
    if k > len(labels):
        raise UserError(f'--folds {k}: only {len(labels)} training images; '
                        'use fewer folds')
    rng = random.Random(seed)
    by_label: Dict[str, List[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    folds: List[List[int]] = [[] for _ in range(k)]
    dealt = 0
    for label in sorted(by_label):
        positions = list(by_label[label])
        rng.shuffle(positions)
        for i in positions:
            folds[dealt % k].append(i)
            dealt += 1
    return [sorted(f) for f in folds]


def resolve_indices(indices, total: int) -> List[int]:
    """A dataset's ``indices`` setting as the list of positions it keeps."""
    if indices is None:
        return list(range(total))
    if isinstance(indices, int):
        return list(range(min(indices, total)))
    return [int(i) for i in indices]


def training_pool(cfg: Config) -> dict:
    """The training images the folds split: positions in the full sorted
    dataset (as ``indices`` expects them), file stems and pet species."""
    from ..inference import init_scope
    init_scope(cfg)
    from mmseg.registry import DATASETS
    ds_cfg = dict(cfg.train_dataloader.dataset)
    wanted = ds_cfg.pop('indices', None)
    ds_cfg.update(pipeline=[], serialize_data=False)
    dataset = DATASETS.build(ds_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    positions = resolve_indices(wanted, len(infos))
    species = []
    for pos in positions:
        path = infos[pos]['seg_map_path']
        mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise UserError(f'{path}: cannot read mask')
        species.append(pet_species(mask))
    return dict(positions=positions, species=species,
                stems=[stem(infos[p]['img_path']) for p in positions],
                split=ds_cfg.get('split', 'train'))


@dataclass
class Job:
    """One training run of the study: ``fold_<k>`` or ``full``."""
    name: str
    work_dir: str
    train: List[int]
    val: List[int] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Finished: the end-of-training summary and a checkpoint exist."""
        return osp.isfile(osp.join(self.work_dir, 'run_summary.json')) and \
            bool(self.checkpoint('last'))

    def checkpoint(self, which: str = 'best') -> Optional[str]:
        """The best (by val mJaccard) or the last saved checkpoint."""
        if which == 'best':
            best = sorted(Path(self.work_dir).glob('best_*.pth'),
                          key=lambda p: p.stat().st_mtime)
            if best:
                return str(best[-1])
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            path = open(pointer).read().strip()
            if osp.isfile(path):
                return path
        return None


def plan_jobs(pool: dict, folds: List[List[int]], work_dir: str,
              full: bool = True) -> List[Job]:
    """The fold jobs (train on the other folds, validate on this one) and
    the ``full`` job (all pool images), with dataset positions."""
    positions = pool['positions']
    jobs = []
    for k, fold in enumerate(folds):
        held = set(fold)
        jobs.append(Job(
            f'fold_{k}', osp.join(work_dir, f'fold_{k}'),
            train=[positions[i] for i in range(len(positions))
                   if i not in held],
            val=[positions[i] for i in fold]))
    if full:
        jobs.append(Job('full', osp.join(work_dir, 'full'),
                        train=list(positions)))
    return jobs


def check_folds_file(path: str, record: dict) -> None:
    """Refuse a work dir whose folds were cut differently."""
    if not osp.isfile(path):
        return
    with open(path) as f:
        old = json.load(f)
    if old.get('folds') != record['folds'] or \
            old.get('stems') != record['stems']:
        raise UserError(
            f'{path}: this work dir holds folds of another split (different '
            'data, --folds or --split-seed); use another --work-dir or '
            'delete it')
