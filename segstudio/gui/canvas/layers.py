"""Cached QImages of the overlays the canvas draws: the mask, the prediction and its uncertainty.

(The photo is :mod:`segstudio.gui.canvas.image_layer`.) The overlays are Indexed8 QImages whose bytes ARE the class ids and whose colour table holds the
class colours (255, unlabeled, and hidden classes are transparent). A mask change copies only the dirty rect of the
document into the QImage, so painting on an 8192x8192 mask costs what it costs on 1024x1024.
Drawing converts only the part of a layer that is exposed.

The per-pixel work that grows with the image (a prediction's confidence shading, the copies that hide
labeled pixels or keep only the pixels where the mask disagrees, the uncertainty) is done by pure functions
(:func:`prediction_values`, :func:`derived_values`, :func:`uncertainty_values`) that the canvas runs off
the GUI thread for large images; the layers only swap the results in.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from segstudio.core.classes import IGNORE_INDEX

Rect = tuple[int, int, int, int]

#: Low-confidence prediction pixels use colour-table entry ``class + DIM_OFFSET`` (when it fits).
DIM_OFFSET = 128
DIM_ALPHA = 90
LOW_CONFIDENCE = 0.5
#: colour of the uncertainty layer; its alpha is the uncertainty (1 - confidence)
UNCERTAINTY_RGB = (255, 0, 255)
#: which copy of the prediction each label-dependent view draws (see :func:`derived_values`)
DERIVED = ("unlabeled", "disagreement")


def _argb(rgb: tuple[int, int, int], alpha: int = 255) -> int:
    r, g, b = rgb
    return (alpha << 24) | (r << 16) | (g << 8) | b


def _indexed_view(image: QImage) -> np.ndarray:
    """A writable (H, bytesPerLine) numpy view of an Indexed8 QImage's own pixels."""
    buf = image.bits()  # non-const: makes sure the QImage owns its (unshared) pixels
    return np.frombuffer(buf, np.uint8).reshape(image.height(), image.bytesPerLine())


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


def _indexed_image(values: np.ndarray, table: list[int]) -> QImage:
    """An Indexed8 QImage aliasing C-contiguous (H, W) uint8 ``values`` (the caller keeps them alive)."""
    h, w = values.shape
    image = QImage(values.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable(table)
    return image


class IndexedLayer:
    """An Indexed8 overlay: pixel = class id, colour table = class colours, 255 and hidden classes transparent."""

    def __init__(self, width: int, height: int, fill: bool = True) -> None:
        """``fill=False`` leaves the pixels undefined (the caller writes every row before drawing)."""
        self.qimage = QImage(width, height, QImage.Format.Format_Indexed8)
        self._colors: list[tuple[int, int, int]] = []
        self._hidden: frozenset[int] = frozenset()
        self.set_colors([])
        if fill:
            _indexed_view(self.qimage)[:, :] = IGNORE_INDEX

    def set_colors(self, colors: list[tuple[int, int, int]], hidden: frozenset[int] | None = None) -> None:
        """Set the class colours (index i = class i) and the classes not drawn; other entries stay transparent."""
        self._colors = list(colors)[:IGNORE_INDEX]
        if hidden is not None:
            self._hidden = frozenset(hidden)
        self._apply_table()

    def set_hidden(self, hidden: frozenset[int]) -> None:
        self.set_colors(self._colors, hidden)

    def _apply_table(self) -> None:
        self.qimage.setColorTable(self.color_table())

    def color_table(self) -> list[int]:
        table = [0] * 256
        for i, rgb in enumerate(self._colors):
            if i not in self._hidden:
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


def keep_disagreement(values: np.ndarray, predicted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The prediction overlay's bytes only where the mask has a label and the predicted class (``predicted``)
    is another one; transparent elsewhere. A new C-contiguous array. Pure: safe on any thread."""
    differ = (mask != IGNORE_INDEX) & (predicted != IGNORE_INDEX) & (predicted != mask)
    return np.ascontiguousarray(np.where(differ, values, np.uint8(IGNORE_INDEX)))


def derived_values(kind: str, values: np.ndarray, predicted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One label-dependent copy of the overlay: ``unlabeled`` (:func:`hide_labeled`) or ``disagreement``
    (:func:`keep_disagreement`)."""
    if kind == "unlabeled":
        return hide_labeled(values, mask)
    if kind == "disagreement":
        return keep_disagreement(values, predicted, mask)
    raise ValueError(f"unknown prediction view {kind!r}; expected one of {', '.join(DERIVED)}")


def uncertainty_values(predicted: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """(H, W) uint8 uncertainty 0..255 (255 - confidence), 0 where nothing is predicted. Pure: safe on any thread."""
    conf = np.asarray(confidence)
    if conf.dtype == np.uint8:
        out = np.subtract(np.uint8(255), conf, dtype=np.uint8)
    else:
        out = np.clip((1.0 - conf.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[predicted == IGNORE_INDEX] = 0
    return np.ascontiguousarray(out)


class PredictionLayer(IndexedLayer):
    """The model's prediction; pixels with low confidence use dimmed colours (entries class + 128).

    ``source`` holds every predicted pixel (made by :func:`prediction_values`, possibly on another thread);
    ``derived[kind]`` the label-dependent copies (:data:`DERIVED`): ``unlabeled`` with the pixels the mask
    already labels made transparent, so an accepted or painted region is not covered twice, and
    ``disagreement`` with only the labeled pixels whose predicted class differs. ``predicted`` is the raw
    class mask (what the copies compare with the labels). ``qimage(kind)`` is None until values are set."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.source: np.ndarray | None = None
        self.predicted: np.ndarray | None = None
        self.derived: dict[str, np.ndarray] = {}
        self._images: dict[str, QImage] = {}
        self._colors = []
        self._hidden = frozenset()

    def _apply_table(self) -> None:
        table = self.color_table()
        for image in self._images.values():
            image.setColorTable(table)

    def color_table(self) -> list[int]:
        table = super().color_table()
        if len(self._colors) >= DIM_OFFSET:
            return table
        for i, rgb in enumerate(self._colors[:DIM_OFFSET - 1]):
            if i not in self._hidden:
                table[i + DIM_OFFSET] = _argb(rgb, DIM_ALPHA)
        return table

    @property
    def n_colors(self) -> int:
        return len(self._colors)

    @property
    def ready(self) -> bool:
        return self.source is not None

    @property
    def unlabeled_only(self) -> np.ndarray | None:
        return self.derived.get("unlabeled")

    def qimage(self, kind: str = "all") -> QImage | None:
        """What to draw: ``all`` predicted pixels or one of the :data:`DERIVED` copies (None if not made)."""
        return self._images.get(kind)

    def set_values(self, values: np.ndarray, predicted: np.ndarray | None = None,
                   derived: dict[str, np.ndarray] | None = None) -> None:
        """Show ``values`` (from :func:`prediction_values`, C-contiguous (H, W) uint8; kept, not copied), the
        raw class mask ``predicted`` and label-dependent copies (from :func:`derived_values`)."""
        for arr in (values, predicted, *(derived or {}).values()):
            if arr is not None and arr.shape != (self.height, self.width):
                raise ValueError(f"prediction shape {arr.shape} differs from the layer's {(self.height, self.width)}")
        self.source, self.predicted = values, predicted if predicted is not None else values
        self.derived, self._images = {}, {"all": _indexed_image(values, self.color_table())}
        for kind, arr in (derived or {}).items():
            self.set_derived(kind, arr)

    def set_derived(self, kind: str, values: np.ndarray) -> None:
        """Add (or replace) one label-dependent copy."""
        if kind not in DERIVED:
            raise ValueError(f"unknown prediction view {kind!r}")
        self.derived[kind] = values
        self._images[kind] = _indexed_image(values, self.color_table())

    def set_prediction(self, mask: np.ndarray, confidence: np.ndarray | None, labels: np.ndarray | None = None,
                       kinds: tuple[str, ...] = ("unlabeled",)) -> None:
        """Colour ``mask`` (dimming low ``confidence``) on this thread; small images only."""
        values = prediction_values(mask, confidence, self.n_colors)
        derived = {k: derived_values(k, values, mask, labels) for k in kinds} if labels is not None else {}
        self.set_values(values, mask, derived)

    def update_labels(self, labels: np.ndarray, rect: Rect) -> None:
        """The mask changed in ``rect``: recompute the label-dependent copies there."""
        if self.source is None or self.predicted is None:
            return
        x0, y0, x1, y1 = rect
        for kind, arr in self.derived.items():
            arr[y0:y1, x0:x1] = derived_values(kind, self.source[y0:y1, x0:x1], self.predicted[y0:y1, x0:x1],
                                               labels[y0:y1, x0:x1])

    def value(self, x: int, y: int) -> int:
        return IGNORE_INDEX if self.source is None else int(self.source[y, x])


class UncertaintyLayer:
    """Where the model is unsure: :data:`UNCERTAINTY_RGB` with alpha = uncertainty (Indexed8, 256-entry ramp)."""

    def __init__(self) -> None:
        self.values: np.ndarray | None = None
        self.qimage: QImage | None = None

    def set_values(self, values: np.ndarray | None) -> None:
        """(H, W) uint8 from :func:`uncertainty_values` (kept, not copied), or None for no confidence."""
        self.values = values
        if values is None:
            self.qimage = None
            return
        self.qimage = _indexed_image(values, [_argb(UNCERTAINTY_RGB, a) for a in range(256)])
