"""The photo on the canvas: every channel of ``LoadedImage.data`` drawn through the display settings' look-up
tables, rendering only what the viewport shows.

The image exists at several resolutions (:class:`ImageLayer` levels): full size and reduced copies of the
raw data (1/2, 1/4, ... area-averaged, made in the background for large images; a strided copy meanwhile).
Each resolution that is drawn gets a :class:`LevelView`:

* **direct** for 8-bit RGB with identity settings: an RGB888 QImage aliasing the pixels, nothing to render
  (what the canvas always did for photos, so painting costs the same);
* **rendered** otherwise: an RGBX8888 buffer the size of the level whose ``TILE`` x ``TILE`` tiles are
  rendered on first draw through :class:`segstudio.core.display.Compositor` (one table look-up per channel
  and pixel) and kept until the settings change. A contrast change marks every tile stale and the next paint
  renders only the tiles the viewport shows: its cost follows the viewport, not the image. The buffer is
  allocated lazily by the OS, so only pages of rendered tiles take memory.

Display settings are view state: the data itself is never changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter

if TYPE_CHECKING:
    from segstudio.core.display import DisplaySettings

#: tile edge (pixels of a level) of the rendered buffers
TILE = 256
#: dtypes OpenCV's area resize takes; others are reduced as float32 (display only)
_RESIZABLE = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def reduce_levels(start: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` successive half-size (H, W, C) copies of ``start`` (area averaging). Pure: safe on any thread."""
    import cv2

    out, prev = [], start
    for _ in range(count):
        h, w = prev.shape[:2]
        src = prev if prev.dtype in _RESIZABLE else prev.astype(np.float32)
        small = cv2.resize(src, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        if small.ndim == 2:
            small = small[:, :, None]
        prev = np.ascontiguousarray(small)
        out.append(prev)
    return out


def draw_layer(painter: QPainter, image: QImage, exposed: QRectF, scale: tuple[float, float] = (1.0, 1.0)) -> None:
    """Draw the part of ``image`` inside scene rect ``exposed``. The image sits at scene 0,0 and has
    ``scale`` = (sx, sy) pixels per scene unit: 1 at full resolution, about 1/2, 1/4, ... for reduced copies."""
    src = level_rect(exposed, scale, image.width(), image.height())
    if src.isEmpty():
        return
    sx, sy = scale
    target = QRectF(src.x() / sx, src.y() / sy, src.width() / sx, src.height() / sy)
    painter.drawImage(target, image, QRectF(src))


def level_rect(exposed: QRectF, scale: tuple[float, float], width: int, height: int) -> QRect:
    """The pixels of a level (``width`` x ``height``, ``scale`` pixels per scene unit) that ``exposed`` covers."""
    sx, sy = scale
    rect = QRectF(exposed.x() * sx, exposed.y() * sy, exposed.width() * sx, exposed.height() * sy)
    return rect.toAlignedRect().adjusted(-1, -1, 1, 1).intersected(QRect(0, 0, width, height))


class LevelView:
    """What is drawn for one resolution of the image (see the module docstring)."""

    def __init__(self, data: np.ndarray, scale: tuple[float, float], settings: DisplaySettings) -> None:
        self.data, self.scale = data, scale
        h, w = data.shape[:2]
        self.direct = settings.is_identity_rgb(data.dtype)
        self.rendered_pixels = 0  # pixels rendered so far (benchmarks, tests)
        if self.direct:
            self.array = np.ascontiguousarray(data)
            self.qimage = QImage(self.array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
            self.valid: np.ndarray | None = None
            self.compositor = None
            return
        from segstudio.core.display import Compositor

        self.array = np.empty((h, w, 4), np.uint8)
        self.qimage = QImage(self.array.data, w, h, 4 * w, QImage.Format.Format_RGBX8888)
        self.valid = np.zeros(((h + TILE - 1) // TILE, (w + TILE - 1) // TILE), bool)
        self.compositor = Compositor(data, settings)

    def set_settings(self, settings: DisplaySettings) -> bool:
        """New settings: every tile is stale. False when this view cannot show them (direct <-> rendered)."""
        if settings.is_identity_rgb(self.data.dtype) != self.direct:
            return False
        if self.compositor is not None and self.valid is not None:
            self.compositor.set_settings(settings)
            self.valid[:] = False
        return True

    def ensure(self, rect: QRect) -> None:
        """Render the stale tiles that ``rect`` (pixels of this level) touches."""
        valid = self.valid
        if valid is None or rect.isEmpty():
            return
        tx0, ty0 = rect.left() // TILE, rect.top() // TILE
        tx1, ty1 = rect.right() // TILE + 1, rect.bottom() // TILE + 1
        block = valid[ty0:ty1, tx0:tx1]
        if block.all():
            return
        if not block.any():  # after a settings change: one region, rendered in parallel row bands
            self._render(tx0, ty0, tx1, ty1)
        else:
            for row in range(ty0, ty1):
                tx = tx0
                while tx < tx1:
                    if valid[row, tx]:
                        tx += 1
                        continue
                    end = tx
                    while end < tx1 and not valid[row, end]:
                        end += 1
                    self._render(tx, row, end, row + 1)
                    tx = end
        block[:] = True

    def _render(self, tx0: int, ty0: int, tx1: int, ty1: int) -> None:
        h, w = self.data.shape[:2]
        x0, y0, x1, y1 = tx0 * TILE, ty0 * TILE, min(w, tx1 * TILE), min(h, ty1 * TILE)
        assert self.compositor is not None
        self.compositor.render_rgbx((x0, y0, x1, y1), out=self.array[y0:y1, x0:x1])
        self.rendered_pixels += (x1 - x0) * (y1 - y0)

    def draw(self, painter: QPainter, exposed: QRectF) -> None:
        self.ensure(level_rect(exposed, self.scale, self.qimage.width(), self.qimage.height()))
        draw_layer(painter, self.qimage, exposed, self.scale)


class ImageLayer:
    """The photo at full size and reduced copies, each drawn through a :class:`LevelView`.

    ``settings`` None (automatic settings not computed yet for a large image): nothing is drawn."""

    def __init__(self, data: np.ndarray, settings: DisplaySettings | None = None) -> None:
        if data.ndim != 3:
            raise ValueError(f"expected (H, W, C) image data, got shape {data.shape}")
        self.data = data
        self.settings = settings
        self._levels: list[np.ndarray] = []  # index i: scale 1 / 2**(i+1)
        self._quick: tuple[int, np.ndarray] | None = None  # (step, strided copy)
        self._views: dict[object, LevelView] = {}  # -1 full size, i a reduced copy, ("quick", step)

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.data.shape[1]), int(self.data.shape[0]))

    @property
    def direct(self) -> bool:
        """8-bit RGB shown as it is: drawn without rendering."""
        return self.settings is not None and self.settings.is_identity_rgb(self.data.dtype)

    @property
    def pixels(self) -> int:
        return int(self.data.shape[0]) * int(self.data.shape[1])

    def set_settings(self, settings: DisplaySettings | None) -> None:
        """Show with other display settings: only the tiles drawn from now on are rendered."""
        if settings == self.settings:
            return
        self.settings = settings
        if settings is None:
            self._views.clear()
            return
        for key, view in list(self._views.items()):
            if not view.set_settings(settings):
                del self._views[key]

    # ---------------------------------------------------------------- resolutions
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
        return self.data if not self._levels else self._levels[-1]

    def add_levels(self, arrays: list[np.ndarray]) -> None:
        """Append reduced copies made by :func:`reduce_levels` from :meth:`level_source`."""
        self._levels.extend(arrays)
        self._quick = None
        self._views = {k: v for k, v in self._views.items() if not isinstance(k, tuple)}

    def _view(self, key: object, data: np.ndarray) -> LevelView | None:
        if self.settings is None:
            return None
        view = self._views.get(key)
        if view is None:
            h, w = data.shape[:2]
            view = LevelView(data, (w / self.data.shape[1], h / self.data.shape[0]), self.settings)
            self._views[key] = view
        return view

    def quick_view(self, zoom: float) -> LevelView | None:
        """A nearest-neighbour copy for ``zoom`` (a strided gather: a few ms even for 8192x8192), drawn
        while the area-averaged copies are still being made in the background."""
        step = 2 ** (self.level_index(zoom) + 1)
        if self._quick is None or self._quick[0] != step:
            self._quick = (step, np.ascontiguousarray(self.data[::step, ::step]))
            self._views = {k: v for k, v in self._views.items() if not isinstance(k, tuple)}
        return self._view(("quick", step), self._quick[1])

    def view_for(self, zoom: float, build: bool = True) -> LevelView | None:
        """The view to draw at ``zoom``: the smallest copy still at least ``zoom``. Missing copies are made
        here when ``build``; otherwise the smallest existing one is used."""
        index = self.level_index(zoom)
        if build and len(self._levels) <= index:
            self.add_levels(reduce_levels(self.level_source(), index + 1 - len(self._levels)))
        index = min(index, len(self._levels) - 1)
        return self._view(-1, self.data) if index < 0 else self._view(index, self._levels[index])

    def rendered_pixels(self) -> int:
        """Pixels rendered through the tables so far, all resolutions (benchmarks, tests)."""
        return sum(v.rendered_pixels for v in self._views.values())
