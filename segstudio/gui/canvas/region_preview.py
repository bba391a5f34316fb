"""A region shown before it is written: semi-transparent in the class colour with an outline (the wand's and the
model-assisted click's hover preview, the box tool's GrabCut result)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF

if TYPE_CHECKING:
    from segstudio.core.mask_document import Rect
    from segstudio.core.segment_tools import RegionMask
    from segstudio.gui.canvas.canvas_view import CanvasView

#: alpha of the preview's fill
FILL_ALPHA = 120


def outline_path(polygons: list) -> QPainterPath:
    """A path of closed polygons ((N, 2) arrays of image coordinates)."""
    path = QPainterPath()
    for poly in polygons:
        path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in poly]))
        path.closeSubpath()
    return path


class RegionOverlay:
    """Holds one :class:`~segstudio.core.segment_tools.RegionMask` and draws it; ``set``/``clear`` repaint only
    the part of the canvas it covers (and covered)."""

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas
        self.region: RegionMask | None = None
        self._values = None  # the uint8 bytes the QImage aliases
        self._image: QImage | None = None
        self._outline = QPainterPath()

    def set(self, region: RegionMask | None, color: QColor, outline: list | None = None) -> None:
        """Show ``region`` in ``color`` (None clears); ``outline``: its polygons when already computed."""
        old = self.region
        self.region = region
        if region is None:
            self._values, self._image, self._outline = None, None, QPainterPath()
        else:
            import numpy as np

            self._values = np.ascontiguousarray(region.mask).view(np.uint8)
            h, w = self._values.shape
            self._image = QImage(self._values.data, w, h, w, QImage.Format.Format_Indexed8)
            self._image.setColorTable([0, QColor(color.red(), color.green(), color.blue(), FILL_ALPHA).rgba()])
            self._outline = outline_path(region.outline() if outline is None else outline)
        for r in (old, region):
            if r is not None:
                self._repaint(r.rect)

    def clear(self) -> None:
        if self.region is not None:
            self.set(None, QColor())

    def _repaint(self, rect: Rect) -> None:
        pad = 3.0 / max(self.canvas.zoom, 1e-6)
        self.canvas.update_image_rect(QRectF(rect[0] - pad, rect[1] - pad, rect[2] - rect[0] + 2 * pad,
                                             rect[3] - rect[1] + 2 * pad))

    def draw(self, painter: QPainter) -> None:
        region, image = self.region, self._image
        if region is None or image is None:
            return
        from segstudio.gui.canvas.image_layer import draw_layer

        x0, y0 = region.rect[0], region.rect[1]
        visible = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        painter.save()
        painter.translate(x0, y0)
        draw_layer(painter, image, visible.translated(-x0, -y0))
        painter.restore()
        painter.setBrush(QColor(0, 0, 0, 0))
        for c, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 255), 1)):
            pen = QPen(c, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(self._outline)
