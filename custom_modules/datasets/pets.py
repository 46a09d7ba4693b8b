"""Pets segmentation dataset: background / cat / dog photos cut from COCO."""
from __future__ import annotations

import os.path as osp
import warnings
from typing import List, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..common.errors import DataError
from ..data.class_schema import CLASSES as PETS_CLASSES
from ..data.class_schema import PALETTE as PETS_PALETTE
from ..data.layout import files_by_stem, pair_folders
from .file_checks import PairVerdict, pair_verdicts


def _names(paths: Sequence, shown: int = 3) -> str:
    """The first file names of ``paths``, then ``...`` if there are more."""
    names = [osp.basename(str(p)) for p in paths[:shown]]
    return ', '.join(names + (['...'] if len(paths) > shown else []))


class DatasetError(DataError, ValueError):
    """A dataset folder is missing, empty or has unmatched files."""


@DATASETS.register_module()
class PetsDataset(BaseSegDataset):
    """Pets images and masks laid out by split.

    Layout under ``data_root``::

        img/<split>/<stem>.jpg          RGB photo (any size; 256x256 here)
        <labels>/<split>/<stem>.png     uint8 mask: 0 bg, 1 cat, 2 dog, 255 ignore

    Args:
        split: 'train', 'val' or 'test'.
        labels: the mask folder, e.g. 'labels' (course masks) or
            'labels_fixed' (re-annotated), so it can be switched from a
            config or ``--cfg-options``.
        check_files: decode every pair once before the run starts (see
            :mod:`.file_checks`); ``False`` skips it for very large sets.
        **kwargs: passed to :class:`mmseg.datasets.BaseSegDataset`
            (``pipeline``, ``indices``, ``serialize_data``...).

    Every image must have a mask and every mask an image, and (with
    ``check_files``) every pair must be readable, complete, of equal size,
    with mask values that are classes or ``ignore_index``; otherwise a
    :class:`DatasetError` names the first offending file and the fix, and
    counts and names the others. With ``check_files``, a split none of
    whose masks has a labelled pixel (all ``ignore_index``) is refused too;
    masks that are all ignore in a split with labels are one warning.
    """

    METAINFO = dict(classes=PETS_CLASSES, palette=PETS_PALETTE)

    def __init__(self,
                 split: str = 'train',
                 labels: str = 'labels',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 check_files: bool = True,
                 **kwargs) -> None:
        self.split = split
        self.labels = labels
        self.check_files = check_files
        kwargs.setdefault('data_prefix', dict(
            img_path=f'img/{split}', seg_map_path=f'{labels}/{split}'))
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix.get('seg_map_path')
        if not osp.isdir(img_dir):
            raise DatasetError(
                f'{img_dir}: image folder not found; pass the dataset folder '
                'with --data-root PATH (layout: img/<split>/*.jpg)')
        images = files_by_stem(img_dir, self.img_suffix)
        if not images:
            raise DatasetError(
                f'{img_dir}: no *{self.img_suffix} images in this split')
        if ann_dir is None:  # images only (inference on a folder)
            return [self._info(path, None) for path in images.values()]
        if not osp.isdir(ann_dir):
            raise DatasetError(
                f'{ann_dir}: mask folder not found; check the labels '
                'folder name (labels or labels_fixed)')
        listing = pair_folders(img_dir, ann_dir, self.img_suffix,
                               self.seg_map_suffix)
        def stem(path, suffix: str) -> str:
            return path.name[:-len(suffix)]
        problems = [
            (path, f'{path}: image has no mask {stem(path, self.img_suffix)}'
             f'{self.seg_map_suffix} in {ann_dir}; add it or remove the '
             'image') for path in listing.images_without_mask] + [
            (path, f'{path}: mask has no image '
             f'{stem(path, self.seg_map_suffix)}{self.img_suffix} in '
             f'{img_dir}; add it or remove the mask')
            for path in listing.masks_without_image]
        pairs = [(str(pair.image), str(pair.mask)) for pair in listing.pairs]
        verdicts = self._check_files(pairs) if self.check_files else []
        problems += [(v.problem.path, v.problem.message) for v in verdicts
                     if v.problem]
        if problems:
            raise DatasetError(problems[0][1] + self._more(
                [path for path, _ in problems[1:]]))
        self._check_labelled(ann_dir, pairs, verdicts)
        return [self._info(pair.image, pair.mask) for pair in listing.pairs]

    def _info(self, image, mask) -> dict:
        """One entry of the data list."""
        return dict(img_path=str(image),
                    seg_map_path=None if mask is None else str(mask),
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label, seg_fields=[])

    def _valid_mask_values(self) -> List[int]:
        n = len(self.metainfo['classes'])
        if self.reduce_zero_label:  # 0 becomes ignore, 1..n become 0..n-1
            n += 1
        return sorted(set(range(n)) | {self.ignore_index})

    def _unlabelled_values(self) -> List[int]:
        """Mask values that are no label (0 too with reduce_zero_label)."""
        return [self.ignore_index] + ([0] if self.reduce_zero_label else [])

    def _check_files(self, pairs: List[tuple]) -> List[PairVerdict]:
        """The verdict on every pair (see :mod:`.file_checks`); none when
        a ``label_map`` remaps the class ids."""
        if self.label_map is not None:  # class subset: ids are remapped
            return []
        return pair_verdicts(pairs, self._valid_mask_values(),
                             self._unlabelled_values())

    def _check_labelled(self, ann_dir: str, pairs: List[tuple],
                        verdicts: List[PairVerdict]) -> None:
        """Refuse a split none of whose masks has a labelled pixel (it
        trains at loss 0 and scores nothing); one warning naming the masks
        that are all ignore in a split that has labels."""
        empty = [seg for (_, seg), v in zip(pairs, verdicts)
                 if v.labelled is False]
        if not empty:
            return
        ignore = ', '.join(str(v) for v in self._unlabelled_values())
        if len(empty) == len(pairs):
            raise DatasetError(
                f'{ann_dir}: all {len(pairs)} masks of this split are '
                f'{ignore} (ignore) everywhere, so there is nothing to learn '
                'or score (the loss would be 0); fix the masks (0 '
                'background, 1 cat, 2 dog) or pass the mask folder with '
                '--labels')
        warnings.warn(
            f'{ann_dir}: {len(empty)} of {len(pairs)} masks have no labelled '
            f'pixel ({ignore}, ignore, everywhere) and add nothing to '
            f'training or scores: {_names(empty)}; fix them or remove the '
            'pairs', stacklevel=2)

    def _more(self, others: Sequence) -> str:
        """`` (and N more; <the command that lists them all>: a, b, c,
        ...)`` for the problems after the first, or ''."""
        if not others:
            return ''
        return (f' (and {len(others)} more; `python tools/check_dataset.py '
                f'{self.data_root} --labels-dir {self.labels}` lists them '
                f'all: {_names(others)})')

    @property
    def image_stems(self) -> Sequence[str]:
        """File stems in dataset order (after ``indices`` selection)."""
        return [osp.splitext(osp.basename(self.get_data_info(i)['img_path']))[0]
                for i in range(len(self))]
