"""Zoom and pan for the canvas: zoom to the cursor, fit, 1:1, and image <-> viewport coordinates.

Scene coordinates are image pixels. The scrollable area is the image plus a margin of
``EDGE_MARGIN_PX`` screen pixels, so the edges of the image are comfortable to paint.
:class:`ZoomPan` is owned by the canvas (a QGraphicsView) and does all the view-transform work.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtGui import QTransform

if TYPE_CHECKING:
    from PySide6.QtWidgets import QGraphicsView

MIN_ZOOM, MAX_ZOOM = 1.0 / 64.0, 64.0
ZOOM_STEP = 1.25
EDGE_MARGIN_PX = 48


class ZoomPan:
    """The view transform of ``view``; ``image_size()`` gives (width, height) of what is shown (or None)."""

    def __init__(self, view: QGraphicsView, image_size: Callable[[], tuple[int, int] | None],
                 zoom_changed: Callable[[float], None]) -> None:
        self.view = view
        self._image_size = image_size
        self._zoom_changed = zoom_changed
        self.zoom = 1.0
        #: keep fitting the image to the window on resize (until the user zooms or pans)
        self.auto_fit = True

    def zoom_in(self) -> None:
        self.zoom_at(self.viewport_center(), self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_at(self.viewport_center(), self.zoom / ZOOM_STEP)

    def set_zoom(self, z: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``z`` keeping the image point under viewport position ``anchor`` (default: centre) fixed."""
        self.zoom_at(self.viewport_center() if anchor is None else QPointF(anchor), z)

    def actual_size(self) -> None:
        """Zoom 1:1 (one image pixel per screen pixel), keeping the view centre."""
        self.zoom_at(self.viewport_center(), 1.0)

    def fit_to_window(self) -> None:
        """Show the whole image, centred; keeps fitting when the window is resized."""
        size = self._image_size()
        if size is None:
            return
        w, h = size
        vp = self.view.viewport().size()
        self._apply_zoom(min(vp.width() / w, vp.height() / h))
        self.view.centerOn(w / 2.0, h / 2.0)
        self.auto_fit = True

    def image_to_view(self, x: float, y: float) -> QPoint:
        """Viewport coordinates of image point (x, y)."""
        return self.view.viewportTransform().map(QPointF(x, y)).toPoint()

    def view_to_image(self, pos: QPointF | QPoint) -> QPointF:
        """Image coordinates (floats) of a viewport position."""
        inv, _ = self.view.viewportTransform().inverted()
        return inv.map(QPointF(pos))

    def view_distance(self, a: QPointF, b: QPointF) -> float:
        """Distance in viewport pixels between two image points."""
        return math.hypot(a.x() - b.x(), a.y() - b.y()) * self.zoom

    def viewport_center(self) -> QPointF:
        vp = self.view.viewport()
        return QPointF(vp.width() / 2.0, vp.height() / 2.0)

    def update_scene_rect(self) -> None:
        """The scrollable area: the image plus EDGE_MARGIN_PX screen pixels, so edges are easy to paint."""
        size = self._image_size()
        if size is None:
            self.view.setSceneRect(QRectF(0, 0, 1, 1))
            return
        m = EDGE_MARGIN_PX / self.zoom
        self.view.setSceneRect(QRectF(-m, -m, size[0] + 2 * m, size[1] + 2 * m))

    def zoom_at(self, view_pos: QPointF, z: float) -> None:
        """Zoom so the image point under ``view_pos`` stays under it."""
        anchor = self.view_to_image(view_pos)
        self.auto_fit = False
        self._apply_zoom(z)
        moved = self.view.viewportTransform().map(anchor) - view_pos
        self.scroll_by(moved.x(), moved.y())
        self.view.viewport().update()

    def scroll_by(self, dx: float, dy: float) -> None:
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def wheel(self, delta: int, pos: QPointF) -> None:
        if delta:
            self.zoom_at(pos, self.zoom * 2.0 ** (delta / 480.0))

    def _apply_zoom(self, z: float) -> None:
        z = max(MIN_ZOOM, min(MAX_ZOOM, float(z)))
        if z == self.zoom and self.view.transform().m11() == z:
            return
        centre = self.view_to_image(self.viewport_center())
        self.zoom = z
        self.view.setTransform(QTransform.fromScale(z, z))
        self.update_scene_rect()
        self.view.centerOn(centre)
        self._zoom_changed(z)
