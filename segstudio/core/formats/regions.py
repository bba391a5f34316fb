"""Connected regions of a label mask and their outlines (for COCO, YOLO and LabelMe export)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np


@dataclass
class Region:
    """One 8-connected region of one value: a boolean crop at (x0, y0) of the full mask."""

    value: int
    x0: int
    y0: int
    crop: np.ndarray  # (h, w) bool
    touches_border: bool

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The region as a full-size uint8 0/1 mask."""
        out = np.zeros(shape, np.uint8)
        h, w = self.crop.shape
        out[self.y0 : self.y0 + h, self.x0 : self.x0 + w] = self.crop
        return out

    def _outlines(self) -> tuple[np.ndarray, tuple]:
        """The crop padded by one pixel (so outlines on its edge close) and its external contours."""
        padded = np.pad(self.crop.astype(np.uint8), 1)
        contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        return padded, contours

    def outer_contour(self) -> np.ndarray:
        """The outline of the region (holes filled) as an (N, 2) int array of absolute pixel x, y."""
        _, contours = self._outlines()
        if not contours:
            return np.zeros((0, 2), np.int64)
        contour = max(contours, key=lambda c: len(c)).reshape(-1, 2).astype(np.int64)
        return contour + np.array([self.x0 - 1, self.y0 - 1])

    def filled_area(self) -> int:
        """Pixels inside the outline, holes included."""
        padded, contours = self._outlines()
        filled = np.zeros_like(padded)
        cv2.drawContours(filled, contours, -1, 1, thickness=-1)
        return int(np.count_nonzero(filled))


def regions_of(mask: np.ndarray, values: list[int] | None = None, where: np.ndarray | None = None,
               connectivity: int = 8) -> Iterator[Region]:
    """Every connected region of each value in ``values`` (default: all values present),
    optionally only among the pixels where ``where`` is true."""
    mask = np.asarray(mask)
    h, w = mask.shape
    if values is None:
        values = [int(v) for v in np.unique(mask)]
    for value in values:
        binary = mask == value
        if where is not None:
            binary &= where
        binary = binary.astype(np.uint8)
        if not binary.any():
            continue
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=connectivity)
        for i in range(1, n):
            x, y, cw, ch = (int(v) for v in stats[i, :4])
            crop = labels[y : y + ch, x : x + cw] == i
            border = x == 0 or y == 0 or x + cw == w or y + ch == h
            yield Region(value, x, y, crop, border)
