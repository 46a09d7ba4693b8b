"""Data tooling for the pets dataset: importers, checks, statistics, weights.

Modules here use only the standard library, numpy, OpenCV, pycocotools,
rich and (lazily, for plots) matplotlib, never mmseg or mmengine; errors are
:class:`DataError`, a :class:`~custom_modules.common.errors.UserError`.
The command-line front ends are ``tools/prepare_data.py``,
``tools/coco_convert.py``, ``tools/check_dataset.py`` and
``tools/class_weights.py``; see ``docs/data.md``.

Modules: :mod:`.class_schema` (class names, mask values, colours),
:mod:`.masks` (mask/photo IO, class values), :mod:`.layout`
(dataset folders, pairing, output safety), :mod:`.splits`,
:mod:`.progress`, :mod:`.download`,
:mod:`.course`, :mod:`.coco_crops`, :mod:`.oxford`, :mod:`.labelme`,
:mod:`.coco` (CVAT round trip), :mod:`.check`, :mod:`.stats`,
:mod:`.report`, :mod:`.class_weights`.
"""
from ..common.errors import DataError

__all__ = ['DataError']
