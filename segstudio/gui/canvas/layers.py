"""Cached QImages the canvas draws: the photo, the mask overlay and the prediction overlay.

The overlays are Indexed8 QImages whose bytes ARE the class ids and whose colour table holds the
class colours (255, unlabeled, is transparent). A mask change copies only the dirty rect of the
document into the QImage, so painting on an 8192x8192 mask costs what it costs on 1024x1024.
Drawing converts only the part of a layer that is exposed.

The per-pixel work that grows with the image (a prediction's confidence shading, the reduced copies
of the photo) is done by pure functions (:func:`prediction_values`, :func:`reduce_levels`) that the
canvas runs off the GUI thread for large images; the layers only swap the results in.
"""

from __future__ import annotations

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


def reduce_levels(start: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` successive half-size copies of ``start`` (area averaging). Pure: safe on any thread."""
    import cv2

    out, prev = [], start
    for _ in range(count):
        h, w = prev.shape[:2]
        prev = np.ascontiguousarray(cv2.resize(prev, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))
        out.append(prev)
    return out


def prediction_values(mask: np.ndarray, confidence: np.ndarray | None, n_colors: int) -> np.ndarray:
    """The prediction overlay's Indexed8 bytes: class ids, low-confidence pixels moved to colour-table entry
    ``class + DIM_OFFSET`` (when the classes fit below DIM_OFFSET). A new C-contiguous array. Pure: safe
    on any thread (vectorised numpy, which releases the GIL)."""
    values = np.array(mask, dtype=np.uint8, order="C", copy=True)
    if confidence is None or n_colors >= DIM_OFFSET:
        return values
    conf = np.asarray(confidence)
    if conf.shape != values.shape:
        raise ValueError(f"confidence shape {conf.shape} differs from the prediction's {values.shape}")
    threshold = int(LOW_CONFIDENCE * 255) if conf.dtype == np.uint8 else LOW_CONFIDENCE  # uint8: 0..255
    step = max(1, (1 << 22) // max(1, values.shape[1]))  # rows per block: bounded temporaries
    for r0 in range(0, values.shape[0], step):
        block = values[r0:r0 + step]
        dim = np.less(conf[r0:r0 + step], threshold)
        dim &= block < DIM_OFFSET - 1
        dim_u8 = dim.view(np.uint8)  # 0 / 1
        np.left_shift(dim_u8, 7, out=dim_u8)  # 0 / 128 == DIM_OFFSET
        np.add(block, dim_u8, out=block)
    return values


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
        self._quick: tuple[int, np.ndarray, QImage] | None = None  # (step, subsampled copy, its QImage)

    @property
    def size(self) -> tuple[int, int]:
        return (self.qimage.width(), self.qimage.height())

    def level_index(self, zoom: float) -> int:
        """Which reduced copy suits ``zoom``: -1 = full resolution, i = scale 1 / 2**(i+1)."""
        scale, index = 1.0, -1
        while zoom <= scale / 2.0 and min(self.size) * scale / 2.0 >= 16:
            scale /= 2.0
            index += 1
        return index

    @property
    def level_count(self) -> int:
        """How many reduced copies exist so far."""
        return len(self._levels)

    def level_source(self) -> np.ndarray:
        """The array the next reduced copy is made from."""
        return self.array if not self._levels else self._levels[-1][0]

    def add_levels(self, arrays: list[np.ndarray]) -> None:
        """Append reduced copies made by :func:`reduce_levels` from :meth:`level_source`."""
        for small in arrays:
            sh, sw = small.shape[:2]
            self._levels.append((small, QImage(small.data, sw, sh, 3 * sw, QImage.Format.Format_RGB888)))
        self._quick = None

    def quick_level(self, zoom: float) -> tuple[QImage, tuple[float, float]]:
        """A nearest-neighbour copy for ``zoom`` (a strided gather: a few ms even for 8192x8192), drawn
        while the area-averaged copies are still being made in the background."""
        step = 2 ** (self.level_index(zoom) + 1)
        if self._quick is None or self._quick[0] != step:
            small = np.ascontiguousarray(self.array[::step, ::step])
            sh, sw = small.shape[:2]
            self._quick = (step, small, QImage(small.data, sw, sh, 3 * sw, QImage.Format.Format_RGB888))
        _, small, qimage = self._quick
        return qimage, (small.shape[1] / self.array.shape[1], small.shape[0] / self.array.shape[0])

    def level_for(self, zoom: float, build: bool = True) -> tuple[QImage, tuple[float, float]]:
        """The copy to draw at ``zoom`` and its scale: the smallest one still at least ``zoom``.

        Missing copies are made here when ``build``; otherwise the smallest existing one is used."""
        index = self.level_index(zoom)
        if build and len(self._levels) <= index:
            self.add_levels(reduce_levels(self.level_source(), index + 1 - len(self._levels)))
        index = min(index, len(self._levels) - 1)
        if index < 0:
            return self.qimage, (1.0, 1.0)
        small, qimage = self._levels[index]
        # w // 2 truncates odd sizes: use the real ratios so the copy covers the image exactly
        return qimage, (small.shape[1] / self.array.shape[1], small.shape[0] / self.array.shape[0])


class IndexedLayer:
    """An Indexed8 overlay: pixel = class id, colour table = class colours, 255 transparent."""

    def __init__(self, width: int, height: int, fill: bool = True) -> None:
        """``fill=False`` leaves the pixels undefined (the caller writes every row before drawing)."""
        self.qimage = QImage(width, height, QImage.Format.Format_Indexed8)
        self._colors: list[tuple[int, int, int]] = []
        self.set_colors([])
        if fill:
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


def hide_labeled(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The prediction overlay's bytes where the mask is unlabeled, transparent (255) where it has a label.
    A new C-contiguous array. Pure: safe on any thread."""
    return np.ascontiguousarray(np.where(mask == IGNORE_INDEX, values, np.uint8(IGNORE_INDEX)))


class PredictionLayer(IndexedLayer):
    """The model's prediction; pixels with low confidence use dimmed colours (entries class + 128).

    ``source`` holds every predicted pixel (made by :func:`prediction_values`, possibly on another
    thread); ``unlabeled_only`` the same with the pixels the mask already labels made transparent, so
    an accepted or painted region is not covered twice (:func:`hide_labeled`). ``qimage(...)`` is None
    until values are set."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.source: np.ndarray | None = None
        self.unlabeled_only: np.ndarray | None = None
        self._images: dict[bool, QImage] = {}
        self._colors = []

    def set_colors(self, colors: list[tuple[int, int, int]]) -> None:
        self._colors = list(colors)[:IGNORE_INDEX]
        table = self.color_table()
        for image in self._images.values():
            image.setColorTable(table)

    def color_table(self) -> list[int]:
        table = super().color_table()
        if len(self._colors) >= DIM_OFFSET:
            return table
        for i, rgb in enumerate(self._colors[:DIM_OFFSET - 1]):
            table[i + DIM_OFFSET] = _argb(rgb, DIM_ALPHA)
        return table

    @property
    def n_colors(self) -> int:
        return len(self._colors)

    @property
    def ready(self) -> bool:
        return self.source is not None

    def qimage(self, unlabeled_only: bool = True) -> QImage | None:
        """What to draw: every predicted pixel, or only those the mask leaves unlabeled."""
        return self._images.get(bool(unlabeled_only) and self.unlabeled_only is not None)

    def set_values(self, values: np.ndarray, unlabeled_only: np.ndarray | None = None) -> None:
        """Show ``values`` (from :func:`prediction_values`, C-contiguous (H, W) uint8; kept, not copied) and
        its copy with labeled pixels hidden (from :func:`hide_labeled`)."""
        for arr in (values, unlabeled_only):
            if arr is not None and arr.shape != (self.height, self.width):
                raise ValueError(f"prediction shape {arr.shape} differs from the layer's {(self.height, self.width)}")
        self.source, self.unlabeled_only = values, unlabeled_only
        table = self.color_table()
        self._images = {}
        for key, arr in ((False, values), (True, unlabeled_only)):
            if arr is not None:
                image = QImage(arr.data, self.width, self.height, self.width, QImage.Format.Format_Indexed8)
                image.setColorTable(table)
                self._images[key] = image

    def set_prediction(self, mask: np.ndarray, confidence: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        """Colour ``mask`` (dimming low ``confidence``) on this thread; small images only."""
        values = prediction_values(mask, confidence, self.n_colors)
        self.set_values(values, hide_labeled(values, labels) if labels is not None else None)

    def update_labels(self, labels: np.ndarray, rect: Rect) -> None:
        """The mask changed in ``rect``: re-hide the prediction under its labeled pixels there."""
        if self.source is None or self.unlabeled_only is None:
            return
        x0, y0, x1, y1 = rect
        self.unlabeled_only[y0:y1, x0:x1] = hide_labeled(self.source[y0:y1, x0:x1], labels[y0:y1, x0:x1])

    def value(self, x: int, y: int) -> int:
        return IGNORE_INDEX if self.source is None else int(self.source[y, x])
