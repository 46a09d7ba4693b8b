"""Dataset quality checks: hard errors, soft findings and per-mask records.

Hard errors (the dataset cannot be used as is): an image without a mask or
a mask without an image, an unreadable image or mask, image and mask sizes
that differ, mask values other than 0/1/2/255, a pair with a side of one
pixel (the training pipeline cannot load it, :data:`.pairs.MIN_SIDE`).

Soft findings (worth a look, not fatal), per mask, with the thresholds in
:class:`Thresholds`: ``empty`` (no cat/dog pixel), ``full`` (cat+dog cover
at least ``full_fraction`` of the image), ``many_components`` (one class
split into at least ``many_components`` connected pieces), ``tiny_components``
(pieces smaller than ``tiny_fraction`` of the image: likely noise),
``extreme_aspect`` (a non-tiny piece whose bounding box is more than
``max_aspect`` times longer than wide), ``holes`` (background regions fully
enclosed by one class).

Connected components use 8-connectivity for objects and 4-connectivity for
the background around them (so diagonal gaps do not make holes).
Statistics over the records are computed by :mod:`.stats`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import DataError
from .class_schema import CLASSES, VALID_VALUES
from .layout import DEFAULT_LABELS_DIR, list_pairs
from .pairs import inspect_pair
from .progress import track


@dataclass(frozen=True)
class Thresholds:
    """Limits for the soft findings (fractions are of the image area)."""
    full_fraction: float = 0.98
    many_components: int = 5
    tiny_fraction: float = 0.0005
    max_aspect: float = 6.0


@dataclass
class Issue:
    """One hard error or soft finding about one file."""
    path: str
    kind: str
    detail: str


@dataclass
class Component:
    """One connected piece of one object class in a mask.

    ``area`` in pixels; ``bbox`` is ``(x, y, w, h)`` in pixels; ``tiny`` is
    true when ``area < tiny_fraction * H * W``.
    """
    cls: int
    area: int
    bbox: tuple[int, int, int, int]
    tiny: bool


@dataclass
class MaskRecord:
    """What the statistics need from one valid mask.

    ``counts[v]`` is the number of pixels with value ``v`` for
    ``v`` in 0..255 (a list of 256 ints).
    """
    split: str
    stem: str
    height: int
    width: int
    counts: list[int]
    components: list[Component] = field(default_factory=list)


@dataclass
class CheckResult:
    """Everything :func:`check_dataset` found."""
    root: str
    labels_dir: str
    splits: list[str]
    errors: list[Issue]
    findings: list[Issue]
    records: list[MaskRecord]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {'root': self.root, 'labels_dir': self.labels_dir,
                'splits': self.splits,
                'errors': [asdict(e) for e in self.errors],
                'findings': [asdict(f) for f in self.findings]}


def _components(binary: np.ndarray, connectivity: int
                ) -> tuple[int, np.ndarray, np.ndarray]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        binary.astype(np.uint8), connectivity=connectivity)
    return n, labels, stats


def count_holes(mask: np.ndarray, cls: int) -> list[int]:
    """Areas (pixels) of background (0) regions fully enclosed by ``cls``.

    A region is a 4-connected piece of ``mask != cls`` that does not touch
    the image border and contains only background pixels.
    """
    h, w = mask.shape
    n, labels, stats = _components(mask != cls, connectivity=4)
    if n <= 1:
        return []
    bg = np.bincount(labels[mask == 0], minlength=n)
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    holes = inner & (bg == area)
    holes[0] = False  # label 0 is the `cls` pixels themselves
    return [int(a) for a in area[holes]]


def analyse_mask(mask: np.ndarray, path: str, split: str, stem: str,
                 th: Thresholds = Thresholds()
                 ) -> tuple[MaskRecord, list[Issue]]:
    """Record and soft findings for one valid ``uint8`` ``(H, W)`` mask."""
    h, w = mask.shape
    counts = np.bincount(mask.ravel(), minlength=256)
    record = MaskRecord(split, stem, h, w, [int(c) for c in counts])
    findings: list[Issue] = []
    objects = int(counts[1:len(CLASSES)].sum())
    if objects == 0:
        findings.append(Issue(path, 'empty', 'no cat or dog pixels'))
    elif objects >= th.full_fraction * h * w:
        findings.append(Issue(path, 'full', f'cat/dog cover '
                              f'{100 * objects / (h * w):.1f}% of the image'))
    tiny_limit = th.tiny_fraction * h * w
    for cls in range(1, len(CLASSES)):
        if counts[cls] == 0:
            continue
        name = CLASSES[cls]
        n, _, stats = _components(mask == cls, connectivity=8)
        comps = [Component(cls, int(s[4]), tuple(int(v) for v in s[:4]),
                           bool(s[4] < tiny_limit)) for s in stats[1:]]
        record.components.extend(comps)
        if len(comps) >= th.many_components:
            findings.append(Issue(path, 'many_components',
                                  f'{name} is split into {len(comps)} pieces'))
        tiny = [c.area for c in comps if c.tiny]
        if tiny:
            findings.append(Issue(path, 'tiny_components',
                                  f'{len(tiny)} {name} piece(s) under '
                                  f'{tiny_limit:.0f} px (areas '
                                  f'{sorted(tiny)[:8]})'))
        for c in comps:
            bw, bh = c.bbox[2], c.bbox[3]
            if not c.tiny and max(bw / bh, bh / bw) > th.max_aspect:
                findings.append(Issue(path, 'extreme_aspect',
                                      f'{name} piece of {c.area} px has a '
                                      f'{bw}x{bh} bounding box'))
        holes = count_holes(mask, cls)
        if holes:
            findings.append(Issue(path, 'holes',
                                  f'{len(holes)} background hole(s) inside '
                                  f'{name}, {sum(holes)} px in all'))
    return record, findings


def check_dataset(root: str | Path, labels_dir: str = DEFAULT_LABELS_DIR,
                  splits: list[str] | None = None,
                  thresholds: Thresholds = Thresholds(),
                  analyse: bool = True,
                  masked_only: bool = False) -> CheckResult:
    """Run every hard check and soft finding over a dataset root.

    Raises :class:`DataError` only when there is nothing to check (no root,
    no split folders); every problem with individual files is collected in
    ``CheckResult.errors`` so that all offending files are named at once.
    Pairs with hard errors (the same verdict as the training pre-flight
    check, :func:`.pairs.inspect_pair`) are
    left out of ``records`` (and statistics).
    With ``analyse=False`` only the hard checks run (no records/findings).
    With ``masked_only`` a photo without a mask is no error (a labels folder
    that re-annotates some of the photos, e.g. from LabelMe).
    """
    listing = list_pairs(root, labels_dir, splits, strict=False)
    if not listing.pairs and not listing.orphans:
        raise DataError(f'{root}: no img/<split>/*.jpg or {labels_dir}/<split>'
                        f'/*.png files for splits {splits or "found"}; check '
                        'the path, --labels-dir and --splits')
    used_splits = sorted({p.split for p in listing.pairs}
                         | {p.parent.name for p in listing.orphans},
                         key=lambda s: (s not in ('train', 'val', 'test'), s))
    errors = [Issue(str(p), 'missing_mask', f'no {labels_dir}/{p.parent.name}/'
                    f'{p.stem}.png') for p in listing.images_without_mask
              if not masked_only]
    errors += [Issue(str(p), 'missing_image', f'no img/{p.parent.name}/'
                     f'{p.stem}.jpg') for p in listing.masks_without_image]
    findings: list[Issue] = []
    records: list[MaskRecord] = []
    for pair in track(listing.pairs, f'checking {labels_dir}'):
        # the same verdict as the training pre-flight check (PetsDataset)
        problem, mask = inspect_pair(str(pair.image), str(pair.mask),
                                     VALID_VALUES)
        if problem:
            errors.append(Issue(problem.path, problem.kind, problem.detail))
        elif analyse:
            record, found = analyse_mask(mask, str(pair.mask), pair.split,
                                         pair.stem, thresholds)
            records.append(record)
            findings.extend(found)
    return CheckResult(str(root), labels_dir, used_splits, errors, findings,
                       records)
