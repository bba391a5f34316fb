"""Zoom and pan for the canvas: zoom to the cursor, fit, 1:1, and image <-> viewport coordinates.

Scene coordinates are image pixels. The scrollable area is the image plus a margin of
``EDGE_MARGIN_PX`` screen pixels, so the edges of the image are comfortable to paint.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtGui import QTransform, QWheelEvent

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage

MIN_ZOOM, MAX_ZOOM = 1.0 / 64.0, 64.0
ZOOM_STEP = 1.25
EDGE_MARGIN_PX = 48


class ZoomPanMixin:
    """Mixed into CanvasView (a QGraphicsView) before the Qt base; needs ``_image``, ``_zoom``,
    ``_auto_fit`` and the ``zoomChanged`` signal."""

    _image: LoadedImage | None
    _zoom: float
    _auto_fit: bool

    @property
    def zoom(self) -> float:
        return self._zoom

    def zoom_in(self) -> None:
        self._zoom_at(self._viewport_center(), self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_at(self._viewport_center(), self._zoom / ZOOM_STEP)

    def set_zoom(self, z: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``z`` keeping the image point under viewport position ``anchor`` (default: centre) fixed."""
        self._zoom_at(self._viewport_center() if anchor is None else QPointF(anchor), z)

    def actual_size(self) -> None:
        """Zoom 1:1 (one image pixel per screen pixel), keeping the view centre."""
        self._zoom_at(self._viewport_center(), 1.0)

    def fit_to_window(self) -> None:
        """Show the whole image, centred; keeps fitting when the window is resized."""
        if self._image is None:
            return
        vp = self.viewport().size()
        z = min(vp.width() / self._image.width, vp.height() / self._image.height)
        self._set_zoom(z)
        self.centerOn(self._image.width / 2.0, self._image.height / 2.0)
        self._auto_fit = True

    def image_to_view(self, x: float, y: float) -> QPoint:
        """Viewport coordinates of image point (x, y) (for tests and tooltips)."""
        return self.viewportTransform().map(QPointF(x, y)).toPoint()

    def view_to_image(self, pos: QPointF | QPoint) -> QPointF:
        """Image coordinates (floats) of a viewport position."""
        inv, _ = self.viewportTransform().inverted()
        return inv.map(QPointF(pos))

    def view_distance(self, a: QPointF, b: QPointF) -> float:
        """Distance in viewport pixels between two image points."""
        return math.hypot(a.x() - b.x(), a.y() - b.y()) * self._zoom

    def _viewport_center(self) -> QPointF:
        return QPointF(self.viewport().width() / 2.0, self.viewport().height() / 2.0)

    def _set_zoom(self, z: float) -> None:
        z = max(MIN_ZOOM, min(MAX_ZOOM, float(z)))
        if z == self._zoom and self.transform().m11() == z:
            return
        centre = self.view_to_image(self._viewport_center())
        self._zoom = z
        self.setTransform(QTransform.fromScale(z, z))
        self._update_scene_rect()
        self.centerOn(centre)
        self.zoomChanged.emit(z)

    def _update_scene_rect(self) -> None:
        """The scrollable area: the image plus EDGE_MARGIN_PX screen pixels, so edges are easy to paint."""
        if self._image is None:
            self.setSceneRect(QRectF(0, 0, 1, 1))
            return
        m = EDGE_MARGIN_PX / self._zoom
        self.setSceneRect(QRectF(-m, -m, self._image.width + 2 * m, self._image.height + 2 * m))

    def _zoom_at(self, view_pos: QPointF, z: float) -> None:
        """Zoom so the image point under ``view_pos`` stays under it."""
        anchor = self.view_to_image(view_pos)
        self._auto_fit = False
        self._set_zoom(z)
        moved = self.viewportTransform().map(anchor) - view_pos
        self._scroll_by(moved.x(), moved.y())
        self.viewport().update()

    def _scroll_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if delta:
            self._zoom_at(event.position(), self._zoom * 2.0 ** (delta / 480.0))
        event.accept()
