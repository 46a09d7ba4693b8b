"""Pictures of predictions: colour overlays and image | GT | prediction grids.

Every picture a person looks at (``worst.png``, the ``--show-dir`` panels,
the ``tools/predict.py`` overlays) names its columns (:func:`label_tile`)
and ends with one legend strip (:func:`add_legend`): each class with its
colour, and the errors panel's colours when there is one.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..data.class_schema import CLASSES as PETS_CLASSES
from ..data.class_schema import PALETTE as PETS_PALETTE

RGB = Tuple[int, int, int]
#: Errors panel: any other wrong pixel, and pixels with an ignored label.
OTHER_ERROR_COLOUR: RGB = (255, 0, 0)
IGNORED_COLOUR: RGB = (128, 128, 128)
#: Errors panel: (true class, predicted class, colour) for the confusions
#: that get their own colour (this dataset's main error: cat <-> dog).
#: Class ids are looked up by name in the class list, so a pair whose
#: names are not both classes is simply not drawn.
CONFUSION_COLOURS: Tuple[Tuple[str, str, RGB], ...] = (
    ('cat', 'dog', (255, 0, 255)),    # magenta: cat predicted as dog
    ('dog', 'cat', (255, 255, 0)))    # yellow: dog predicted as cat


def confusion_pairs(classes: Sequence[str] = PETS_CLASSES
                    ) -> List[Tuple[str, int, int, RGB]]:
    """(legend name ``'<true> as <predicted>'``, true id, predicted id,
    RGB) for each :data:`CONFUSION_COLOURS` pair whose two names are in
    ``classes`` (ids = positions in ``classes``)."""
    ids = {name: i for i, name in enumerate(classes)}
    return [(f'{true} as {pred}', ids[true], ids[pred], colour)
            for true, pred, colour in CONFUSION_COLOURS
            if true in ids and pred in ids]


def error_colours(classes: Sequence[str] = PETS_CLASSES
                  ) -> List[Tuple[str, RGB]]:
    """(name, RGB) of the errors panel's colours for ``classes``, legend
    order: ``error`` (red, every other wrong pixel), one entry per
    confusion pair (:func:`confusion_pairs`), ``ignored`` (grey)."""
    return ([('error', OTHER_ERROR_COLOUR)] +
            [(name, colour) for name, _, _, colour
             in confusion_pairs(classes)] + [('ignored', IGNORED_COLOUR)])


#: Colours of the errors panel (:func:`error_map`) for the pets classes,
#: for its legend: error, cat as dog, dog as cat, ignored.
ERROR_COLOURS = tuple(error_colours(PETS_CLASSES))
_FONT, _SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.4


def colorize(mask: np.ndarray,
             palette: Sequence[Sequence[int]] = PETS_PALETTE) -> np.ndarray:
    """Class-id mask (H, W) -> RGB uint8 (H, W, 3); 255 (ignore) is white."""
    lut = np.full((256, 3), 255, np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[mask]


def overlay(image_rgb: np.ndarray, mask: np.ndarray, alpha: float = 0.5,
            palette: Sequence[Sequence[int]] = PETS_PALETTE) -> np.ndarray:
    """Blend class colours over an RGB image; background (0) stays untouched.

    Args:
        image_rgb: uint8 (H, W, 3).
        mask: class ids (H, W), same H and W.
        alpha: weight of the class colour in [0, 1].
    """
    out = image_rgb.astype(np.float32)
    fg = (mask > 0) & (mask != 255)
    out[fg] = (1 - alpha) * out[fg] + alpha * colorize(mask, palette)[fg]
    return out.clip(0, 255).astype(np.uint8)


def error_map(gt: np.ndarray, pred: np.ndarray,
              image_rgb: Optional[np.ndarray] = None,
              classes: Sequence[str] = PETS_CLASSES) -> np.ndarray:
    """RGB (H, W, 3) errors panel (colours: :func:`error_colours`).

    Cat predicted as dog magenta, dog predicted as cat yellow (the pairs of
    :data:`CONFUSION_COLOURS` found in ``classes``), every other wrong
    pixel red, ignored (ground truth 255) grey; correct pixels show the
    photo darkened (black without ``image_rgb``).

    Args:
        gt, pred: class ids (H, W).
        image_rgb: optional uint8 (H, W, 3) photo.
        classes: class names by id, to find the confusion pairs' ids.
    """
    out = np.zeros(gt.shape + (3,), np.uint8) if image_rgb is None else \
        (image_rgb.astype(np.float32) * 0.35).astype(np.uint8)
    out[(gt != pred) & (gt != 255)] = OTHER_ERROR_COLOUR
    for _, true, predicted, colour in confusion_pairs(classes):
        out[(gt == true) & (pred == predicted)] = colour
    out[gt == 255] = IGNORED_COLOUR
    return out


def label_tile(tile: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the tile's top-left corner (returns a copy)."""
    tile = np.ascontiguousarray(tile.copy())
    if not text:
        return tile
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    (w, h), base = cv2.getTextSize(text, font, scale, 1)
    cv2.rectangle(tile, (0, 0), (w + 6, h + base + 6), (0, 0, 0), -1)
    cv2.putText(tile, text, (3, h + 3), font, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return tile


def comparison_row(image_rgb: np.ndarray, gt: Optional[np.ndarray],
                   pred: np.ndarray, title: str = '',
                   classes: Sequence[str] = PETS_CLASSES) -> np.ndarray:
    """One row: image | ground truth | prediction | errors (errors need GT;
    ``classes`` as in :func:`error_map`)."""
    tiles = [label_tile(image_rgb, title)]
    if gt is not None:
        tiles.append(label_tile(overlay(image_rgb, gt), 'ground truth'))
    tiles.append(label_tile(overlay(image_rgb, pred), 'prediction'))
    if gt is not None:
        tiles.append(label_tile(error_map(gt, pred, image_rgb, classes),
                                'errors'))
    return np.concatenate(tiles, axis=1)


def legend_entries(errors: bool = False,
                   classes: Sequence[str] = PETS_CLASSES,
                   palette: Sequence[Sequence[int]] = PETS_PALETTE
                   ) -> List[Tuple[str, Tuple[int, int, int]]]:
    """(name, RGB) per class in the overlays' colours, then the errors
    panel's colours when ``errors``. Background is drawn untinted, so its
    entry says so. The errors' entries (:func:`error_colours`) follow the
    same ``classes``."""
    entries = [(f'{name} (untinted)' if i == 0 else name, tuple(colour))
               for i, (name, colour) in enumerate(zip(classes, palette))]
    return entries + (error_colours(classes) if errors else [])


def legend_strip(width: int, entries: Sequence[Tuple[str, Sequence[int]]]
                 ) -> np.ndarray:
    """A black RGB band ``width`` wide: a colour swatch and the name of each
    entry, left to right, wrapped onto more lines when needed."""
    line_h, box, gap = 16, 10, 10
    items = [(name, colour, box + 4 + cv2.getTextSize(
        name, _FONT, _SCALE, 1)[0][0]) for name, colour in entries]
    lines, x = [[]], 4
    for item in items:
        if lines[-1] and x + item[2] > width - 4:
            lines.append([])
            x = 4
        lines[-1].append((x, item))
        x += item[2] + gap
    strip = np.zeros((line_h * len(lines) + 4, width, 3), np.uint8)
    for row, line in enumerate(lines):
        top = 4 + row * line_h
        for x, (name, colour, _) in line:
            cv2.rectangle(strip, (x, top), (x + box - 1, top + box - 1),
                          tuple(int(c) for c in colour), -1)
            cv2.rectangle(strip, (x, top), (x + box - 1, top + box - 1),
                          (255, 255, 255), 1)
            cv2.putText(strip, name, (x + box + 4, top + box - 1), _FONT,
                        _SCALE, (255, 255, 255), 1, cv2.LINE_AA)
    return strip


def add_legend(picture: np.ndarray, errors: bool = False,
               classes: Sequence[str] = PETS_CLASSES) -> np.ndarray:
    """``picture`` with the legend strip (:func:`legend_entries`) below it."""
    strip = legend_strip(picture.shape[1], legend_entries(errors, classes))
    return np.concatenate([picture, strip], axis=0)


def prediction_picture(image_rgb: np.ndarray, pred: np.ndarray,
                       title: str = 'prediction') -> np.ndarray:
    """The overlay of ``pred`` on the photo, titled, with the legend
    (``tools/predict.py`` overlays; ``--show-dir`` without ground truth)."""
    return add_legend(label_tile(overlay(image_rgb, pred), title))


def comparison_picture(image_rgb: np.ndarray, gt: Optional[np.ndarray],
                       pred: np.ndarray, title: str = '') -> np.ndarray:
    """:func:`comparison_row` with the legend (``--show-dir`` panels)."""
    return add_legend(comparison_row(image_rgb, gt, pred, title),
                      errors=gt is not None)


def stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Stack rows vertically, resizing each to the first row's width."""
    width = rows[0].shape[1]
    fitted = [r if r.shape[1] == width else cv2.resize(
        r, (width, round(r.shape[0] * width / r.shape[1]))) for r in rows]
    return np.concatenate(fitted, axis=0)


def read_rgb(path: str) -> np.ndarray:
    """Read a photo as RGB uint8 (H, W, 3) (grayscale/RGBA converted)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'{path}: cannot read image')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_rgb(path: str, image_rgb: np.ndarray) -> None:
    """Save an RGB uint8 image (PNG/JPEG by extension)."""
    if not cv2.imwrite(path, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f'{path}: could not write image')
