"""Cutting the training split into stratified folds, and the fold jobs."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import os.path as osp
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ... import plugins  # noqa: F401  (the patched, registered stack first)
import cv2
import numpy as np
from mmengine.config import Config

from ...common.errors import UserError
from ...compat.robustness import atomic_write
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


#: Written into each fold's work dir before its training starts: what the
#: fold trains (fingerprint, resolved config, readable facts).
JOB_FILE = 'kfold_job.json'

#: Config keys left out of a fold's identity: where it is written, the
#: visualizer's random name, the ClearML logging backend and the loader
#: worker counts (sized to the machine; they do not change what is trained).
VOLATILE_KEYS = ('work_dir', 'visualizer.name')
_LOADER_KEYS = ('num_workers', 'persistent_workers')


def _canonical(value: Any) -> Any:
    """``value`` as plain JSON types (tuples -> lists, others -> str)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def identity_config(cfg) -> dict:
    """The parts of a resolved training config that make a fold's identity
    (:data:`VOLATILE_KEYS`, ClearML backends and loader workers dropped),
    as canonical JSON types."""
    tree = _canonical(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)
    for key in VOLATILE_KEYS:
        *parents, last = key.split('.')
        node = tree
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    vis = tree.get('visualizer')
    if isinstance(vis, dict) and isinstance(vis.get('vis_backends'), list):
        vis['vis_backends'] = [
            b for b in vis['vis_backends'] if not (
                isinstance(b, dict) and 'ClearML' in str(b.get('type')))]
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = tree.get(name)
        if isinstance(loader, dict):
            for key in _LOADER_KEYS:
                loader.pop(key, None)
    return tree


def fingerprint(config: dict, train: Sequence[int],
                val: Sequence[int]) -> str:
    """sha256 of the identity config and the fold's indices."""
    text = json.dumps(dict(config=config, train=list(train), val=list(val)),
                      sort_keys=True, default=str, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def _quiet():
    """No prints and no mmengine log lines (building a config to compare
    it, the fold's own run prints them)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def job_record(job: 'Job', train_argv: Sequence[str], config: str,
               cfg_options: Sequence[str]) -> dict:
    """What ``job`` trains now: the config its ``tools/train.py`` child
    builds from ``train_argv`` (its arguments after the script), as
    :func:`~custom_modules.tools.train.build_config` resolves it, its
    fingerprint and a readable copy of the key facts."""
    from .. import train as train_tool
    args = train_tool.build_parser().parse_args(list(train_argv))
    args.resume = None
    with _quiet():
        cfg = train_tool.prepare_config(args)
    tree = identity_config(cfg)
    loop = tree.get('train_cfg') or {}
    return dict(fingerprint=fingerprint(tree, job.train, job.val),
                name=job.name, config_file=config,
                cfg_options=list(cfg_options), train_images=len(job.train),
                val_images=len(job.val), max_iters=loop.get('max_iters'),
                config=tree)


def _flatten(node: Any, prefix: str = '') -> Dict[str, Any]:
    """Dotted key -> leaf; lists of dicts by index, other lists as leaves."""
    if isinstance(node, dict):
        out: Dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f'{prefix}{key}.'))
        return out or {prefix[:-1]: {}}
    if isinstance(node, list) and any(isinstance(v, dict) for v in node):
        out = {}
        for i, value in enumerate(node):
            out.update(_flatten(value, f'{prefix}{i}.'))
        return out or {prefix[:-1]: []}
    return {prefix[:-1]: node}


def _short(value: Any, width: int = 40) -> str:
    text = 'unset' if value is _UNSET else json.dumps(value, default=str)
    return text if len(text) <= width else text[:width - 3] + '...'


_UNSET = object()


def config_changes(old: dict, new: dict, limit: int = 6) -> List[str]:
    """``'train_cfg.max_iters 2 -> 4'`` for each config leaf that differs
    (at most ``limit``, then ``'N more'``)."""
    a, b = _flatten(old), _flatten(new)
    keys = sorted(k for k in set(a) | set(b)
                  if a.get(k, _UNSET) != b.get(k, _UNSET))
    # the schedule first: the change a user most often makes
    keys.sort(key=lambda k: not k.startswith('train_cfg.'))
    changes = [f'{k} {_short(a.get(k, _UNSET))} -> {_short(b.get(k, _UNSET))}'
               for k in keys[:limit]]
    if len(keys) > limit:
        changes.append(f'{len(keys) - limit} more')
    return changes


@dataclass
class Job:
    """One training run of the study: ``fold_<k>`` or ``full``.

    ``record`` (from :func:`job_record`) is what it would train now; its
    :attr:`state` compares it with the work dir's :data:`JOB_FILE`.
    """
    name: str
    work_dir: str
    train: List[int]
    val: List[int] = field(default_factory=list)
    record: Optional[dict] = None

    @property
    def fingerprint(self) -> Optional[str]:
        return (self.record or {}).get('fingerprint')

    def stored(self) -> Optional[dict]:
        """The work dir's :data:`JOB_FILE`, or None."""
        path = osp.join(self.work_dir, JOB_FILE)
        try:
            with open(path) as f:
                stored = json.load(f)
        except (OSError, ValueError):
            return None
        return stored if isinstance(stored, dict) else None

    def write_record(self) -> str:
        """Write :data:`JOB_FILE` atomically (tmp file, then rename)."""
        path = osp.join(self.work_dir, JOB_FILE)
        atomic_write(path, json.dumps(self.record, indent=1,
                                      sort_keys=True).encode())
        return path

    def summary(self) -> Optional[dict]:
        """The run's ``run_summary.json`` (written when training ends)."""
        try:
            with open(osp.join(self.work_dir, 'run_summary.json')) as f:
                summary = json.load(f)
        except (OSError, ValueError):
            return None
        return summary if isinstance(summary, dict) else None

    @property
    def finished(self) -> bool:
        """Training ended by itself: a summary without ``stop_reason`` that
        reached ``max_iters`` or was stopped by early stopping, and a
        checkpoint."""
        summary = self.summary()
        if summary is None or summary.get('stop_reason'):
            return False
        iters, max_iters = summary.get('iters'), summary.get('max_iters')
        reached = isinstance(iters, int) and isinstance(max_iters, int) \
            and iters >= max_iters
        return (reached or summary.get('stopped_early') is True) and \
            bool(self.checkpoint('last'))

    def has_run(self) -> bool:
        """Anything in the work dir besides the job file."""
        try:
            return any(n != JOB_FILE for n in os.listdir(self.work_dir))
        except OSError:
            return False

    @property
    def state(self) -> str:
        """``'done'`` (finished, same fingerprint: reused), ``'interrupted'``
        (same fingerprint, not finished, a complete checkpoint: resumed),
        ``'mismatch'`` (a run of another fingerprint, or of none: an old
        work dir; moved aside and trained again) or ``'new'`` (nothing to
        reuse: trained from the start in this work dir)."""
        stored = self.stored()
        if stored is None or stored.get('fingerprint') != self.fingerprint:
            if stored is not None or self.has_run():
                return 'mismatch'
            return 'new'
        if self.finished:
            return 'done'
        if self.resume_from():
            return 'interrupted'
        return 'new'

    @property
    def done(self) -> bool:
        return self.state == 'done'

    def resume_from(self) -> Optional[str]:
        """The complete checkpoint ``--resume`` would continue from."""
        from ..resume import resume_checkpoint
        return resume_checkpoint(self.work_dir)

    def mismatch_reason(self) -> str:
        """Why the work dir's run is not this job, in a few words."""
        stored = self.stored()
        if stored is None:
            return f'no {JOB_FILE} (a run from before fold records, or ' \
                'not started by tools/kfold.py)'
        if not isinstance(stored.get('config'), dict):
            return f'another fingerprint in {JOB_FILE}'
        changes = config_changes(stored['config'],
                                 (self.record or {}).get('config') or {})
        if not changes:
            return 'trained on other images (train/val indices)'
        return 'trained with another config: ' + ', '.join(changes)

    def move_aside(self) -> str:
        """Rename the work dir to ``<dir>.stale-<YYYYmmdd-HHMMSS>`` (nothing
        is deleted); refused while a training holds its lock."""
        from ..lock import WorkDirLock
        lock = WorkDirLock(self.work_dir)
        lock.acquire()  # WorkDirBusyError while a fold trains there
        lock.release()
        base = f'{osp.normpath(self.work_dir)}.stale-' \
            f'{time.strftime("%Y%m%d-%H%M%S")}'
        target, n = base, 0
        while osp.lexists(target):
            n += 1
            target = f'{base}-{n}'
        os.rename(self.work_dir, target)
        return target

    def checkpoint(self, which: str = 'best') -> Optional[str]:
        """The best (by val mJaccard) or the last saved checkpoint."""
        if which == 'best':
            best = sorted(Path(self.work_dir).glob('best_*.pth'),
                          key=lambda p: p.stat().st_mtime)
            if best:
                return str(best[-1])
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                path = f.read().strip()
            # the work dir's own file (never another folder's)
            candidate = osp.join(self.work_dir, osp.basename(path))
            if path and osp.isfile(candidate):
                return candidate
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
