"""Pictures of predictions: colour overlays and image | GT | prediction grids."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from ..datasets.pets import PETS_PALETTE


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


def error_map(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3): correct black, wrong red, ignored grey."""
    out = np.zeros(gt.shape + (3,), np.uint8)
    out[(gt != pred) & (gt != 255)] = (255, 0, 0)
    out[gt == 255] = (128, 128, 128)
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
                   pred: np.ndarray, title: str = '') -> np.ndarray:
    """One row: image | ground truth | prediction | errors (errors need GT)."""
    tiles = [label_tile(image_rgb, title)]
    if gt is not None:
        tiles.append(label_tile(overlay(image_rgb, gt), 'ground truth'))
    tiles.append(label_tile(overlay(image_rgb, pred), 'prediction'))
    if gt is not None:
        tiles.append(label_tile(error_map(gt, pred), 'errors'))
    return np.concatenate(tiles, axis=1)


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
