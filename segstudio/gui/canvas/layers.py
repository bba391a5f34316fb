"""Cached QImages the canvas draws: the photo, the mask overlay and the prediction overlay.

The overlays are Indexed8 QImages whose bytes ARE the class ids and whose colour table holds the
class colours (255, unlabeled, is transparent). A mask change copies only the dirty rect of the
document into the QImage, so painting on an 8192x8192 mask costs what it costs on 1024x1024.
Drawing converts only the part of a layer that is exposed.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter

from segstudio.core.classes import IGNORE_INDEX

Rect = tuple[int, int, int, int]

#: Low-confidence prediction pixels use colour-table entry ``class + DIM_OFFSET`` (when it fits).
DIM_OFFSET = 128
DIM_ALPHA = 90
LOW_CONFIDENCE = 0.5


def _argb(rgb: tuple[int, int, int], alpha: int = 255) -> int:
    r, g, b = rgb
    return (alpha << 24) | (r << 16) | (g << 8) | b


def _indexed_view(image: QImage) -> np.ndarray:
    """A writable (H, bytesPerLine) numpy view of an Indexed8 QImage's own pixels."""
    buf = image.bits()  # non-const: makes sure the QImage owns its (unshared) pixels
    return np.frombuffer(buf, np.uint8).reshape(image.height(), image.bytesPerLine())


def draw_layer(painter: QPainter, image: QImage, exposed: QRectF, scale: tuple[float, float] = (1.0, 1.0)) -> None:
    """Draw the part of ``image`` inside scene rect ``exposed``. The image sits at scene 0,0 and has
    ``scale`` = (sx, sy) pixels per scene unit: 1 at full resolution, about 1/2, 1/4, ... for reduced copies."""
    sx, sy = scale
    level_rect = QRectF(exposed.x() * sx, exposed.y() * sy, exposed.width() * sx, exposed.height() * sy)
    src = level_rect.toAlignedRect().adjusted(-1, -1, 1, 1).intersected(QRect(0, 0, image.width(), image.height()))
    if src.isEmpty():
        return
    target = QRectF(src.x() / sx, src.y() / sy, src.width() / sx, src.height() / sy)
    painter.drawImage(target, image, QRectF(src))


class ImageLayer:
    """The photo as an RGB888 QImage aliasing a contiguous numpy buffer (kept alive here).

    Reduced copies (1/2, 1/4, ... made with area averaging, built on first use) are drawn when
    zoomed out, so a large image shown small is neither aliased nor slow.
    """

    def __init__(self, rgb: np.ndarray) -> None:
        self.array = np.ascontiguousarray(rgb, dtype=np.uint8)
        h, w = self.array.shape[:2]
        self.qimage = QImage(self.array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self._levels: list[tuple[np.ndarray, QImage]] = []  # index i: scale 1 / 2**(i+1)

    @property
    def size(self) -> tuple[int, int]:
        return (self.qimage.width(), self.qimage.height())

    def level_for(self, zoom: float) -> tuple[QImage, tuple[float, float]]:
        """The copy to draw at ``zoom`` and its scale: the smallest one still at least ``zoom``."""
        scale, index = 1.0, -1
        while zoom <= scale / 2.0 and min(self.size) * scale / 2.0 >= 16:
            scale /= 2.0
            index += 1
        if index < 0:
            return self.qimage, (1.0, 1.0)
        while len(self._levels) <= index:
            prev = self.array if not self._levels else self._levels[-1][0]
            h, w = prev.shape[:2]
            small = np.ascontiguousarray(cv2.resize(prev, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))
            sh, sw = small.shape[:2]
            self._levels.append((small, QImage(small.data, sw, sh, 3 * sw, QImage.Format.Format_RGB888)))
        small, qimage = self._levels[index]
        # w // 2 truncates odd sizes: use the real ratios so the copy covers the image exactly
        return qimage, (small.shape[1] / self.array.shape[1], small.shape[0] / self.array.shape[0])


class IndexedLayer:
    """An Indexed8 overlay: pixel = class id, colour table = class colours, 255 transparent."""

    def __init__(self, width: int, height: int) -> None:
        self.qimage = QImage(width, height, QImage.Format.Format_Indexed8)
        self._colors: list[tuple[int, int, int]] = []
        self.set_colors([])
        _indexed_view(self.qimage)[:, :] = IGNORE_INDEX

    def set_colors(self, colors: list[tuple[int, int, int]]) -> None:
        """Set the class colours (index i = class i); other entries stay transparent."""
        self._colors = list(colors)[:IGNORE_INDEX]
        self.qimage.setColorTable(self.color_table())

    def color_table(self) -> list[int]:
        table = [0] * 256
        for i, rgb in enumerate(self._colors):
            table[i] = _argb(rgb)
        return table

    def write(self, values: np.ndarray, rect: Rect | None = None) -> None:
        """Copy ``values`` (the full (H, W) mask when rect is None, else the pixels of rect) in."""
        view = _indexed_view(self.qimage)
        if rect is None:
            h, w = values.shape
            view[:h, :w] = values
            return
        x0, y0, x1, y1 = rect
        view[y0:y1, x0:x1] = values

    def value(self, x: int, y: int) -> int:
        return int(self.qimage.pixelIndex(x, y))


class MaskLayer(IndexedLayer):
    """The editable mask's overlay, refreshed from the document one dirty rect at a time."""

    def update_from(self, mask: np.ndarray, rect: Rect) -> None:
        x0, y0, x1, y1 = rect
        self.write(mask[y0:y1, x0:x1], rect)


class PredictionLayer(IndexedLayer):
    """The model's prediction; pixels with low confidence use dimmed colours (entries class + 128)."""

    def color_table(self) -> list[int]:
        table = super().color_table()
        if len(self._colors) >= DIM_OFFSET:
            return table
        for i, rgb in enumerate(self._colors[:DIM_OFFSET - 1]):
            table[i + DIM_OFFSET] = _argb(rgb, DIM_ALPHA)
        return table

    def set_prediction(self, mask: np.ndarray, confidence: np.ndarray | None) -> None:
        values = np.asarray(mask, dtype=np.uint8)
        if confidence is not None and len(self._colors) < DIM_OFFSET:
            conf = np.asarray(confidence)
            if conf.shape != values.shape:
                raise ValueError(f"confidence shape {conf.shape} differs from the prediction's {values.shape}")
            if conf.dtype == np.uint8:  # 0..255 confidences
                low = conf < int(LOW_CONFIDENCE * 255)
            else:
                low = conf < LOW_CONFIDENCE
            dim = low & (values < DIM_OFFSET - 1)
            values = np.where(dim, values + DIM_OFFSET, values).astype(np.uint8)
        self.write(values)
