"""Drawing the canvas scene: the photo (its reduced copy when zoomed out), the prediction, the mask, the pixel
grid, the tool's feedback and the brush circle, each only in the exposed part."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from segstudio.gui.canvas.async_overlays import SYNC_PIXELS

if TYPE_CHECKING:
    from segstudio.gui.canvas.canvas_view import CanvasView

#: From this zoom on, faint lines show the pixel grid.
GRID_ZOOM = 24.0
BACKGROUND = QColor(40, 40, 44)


def draw_background(canvas: CanvasView, painter: QPainter, rect: QRectF) -> None:
    """Photo, then the prediction (where the mask is unlabeled, while the mask is drawn), then the mask."""
    painter.fillRect(rect, BACKGROUND)
    layer = canvas.image_layer
    if layer is None:
        return
    from segstudio.gui.canvas.layers import draw_layer

    zoom = canvas.zoom
    index = layer.level_index(zoom)
    waiting = index >= layer.level_count and layer.array.shape[0] * layer.array.shape[1] > SYNC_PIXELS
    if waiting:  # a large image zoomed out: reduce it in the background, draw what exists meanwhile
        canvas.overlays.schedule_levels(index)
    # crisp pixels when zoomed in; smooth sampling only when zoomed out
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)
    if waiting and layer.level_count <= index // 2:  # nothing close: a subsampled copy meanwhile
        level, scale = layer.quick_level(zoom)
    else:
        level, scale = layer.level_for(zoom, build=not waiting)
    draw_layer(painter, level, rect, scale)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    mask_drawn = canvas.mask_drawn
    pred = canvas.prediction_layer
    pred_image = pred.qimage(unlabeled_only=mask_drawn) if pred is not None else None
    if canvas.prediction_drawn and pred_image is not None:
        painter.setOpacity(canvas.prediction_opacity)
        draw_layer(painter, pred_image, rect)
    if mask_drawn:
        painter.setOpacity(canvas.mask_opacity)
        draw_layer(painter, canvas.mask_layer.qimage, rect)
    painter.setOpacity(1.0)


def draw_foreground(canvas: CanvasView, painter: QPainter, rect: QRectF) -> None:
    """Pixel grid (high zoom), the tool's feedback (a polygon being drawn) and the brush circle."""
    image = canvas.image()
    if canvas.zoom >= GRID_ZOOM and image is not None:
        draw_pixel_grid(painter, rect, image.width, image.height)
    canvas.draw_tool(painter)
    brush = canvas.brush_outline()
    if brush is not None:
        for color, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255), 1)):
            pen = QPen(color, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(brush)


def draw_pixel_grid(painter: QPainter, rect: QRectF, width: int, height: int) -> None:
    """Faint lines between image pixels, in the exposed part only."""
    x0, y0 = max(0, math.floor(rect.left())), max(0, math.floor(rect.top()))
    x1, y1 = min(width, math.ceil(rect.right())), min(height, math.ceil(rect.bottom()))
    if x0 > x1 or y0 > y1:
        return
    painter.setPen(QPen(QColor(255, 255, 255, 45), 0))
    lines = [QLineF(x, y0, x, y1) for x in range(x0, x1 + 1)]
    lines += [QLineF(x0, y, x1, y) for y in range(y0, y1 + 1)]
    painter.drawLines(lines)
