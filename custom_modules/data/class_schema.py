"""The class schema: class names, mask values and colours of the pets data.

A mask pixel's value is its class index in :data:`CLASSES` or
:data:`IGNORE_INDEX`; :data:`PALETTE` colours the classes in overlays, the
visualizer and the dataset's metainfo. Mask/photo IO and the mapping of
annotation-tool labels to these values are in :mod:`.masks`.
"""
from __future__ import annotations

#: Class names by index; index = pixel value in a mask.
CLASSES: tuple[str, ...] = ('background', 'cat', 'dog')
#: RGB colour per class (overlays, the visualizer, the dataset's metainfo).
PALETTE: list[list[int]] = [[0, 0, 0], [230, 120, 30], [40, 140, 230]]
#: Pixel value for "not labelled, ignored by loss and metrics".
IGNORE_INDEX = 255
#: All pixel values a valid mask may contain.
VALID_VALUES: tuple[int, ...] = tuple(range(len(CLASSES))) + (IGNORE_INDEX,)
#: Class name -> value for object classes (what annotation tools call them).
OBJECT_CLASSES: dict[str, int] = {'cat': 1, 'dog': 2}
