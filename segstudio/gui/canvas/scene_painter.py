"""Drawing the canvas scene, each layer only in the exposed part, bottom to top: the photo (through its display
settings, its reduced copy when zoomed out), the mask, the prediction (in the chosen style), the uncertainty;
then the pixel grid, the tool's feedback and the brush circle."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from segstudio.gui.canvas.async_overlays import SYNC_PIXELS
from segstudio.gui.canvas.canvas_layers import STYLE_COPY

if TYPE_CHECKING:
    from segstudio.gui.canvas.canvas_view import CanvasView
    from segstudio.gui.canvas.image_layer import ImageLayer

#: From this zoom on, faint lines show the pixel grid.
GRID_ZOOM = 24.0
BACKGROUND = QColor(40, 40, 44)


def draw_background(canvas: CanvasView, painter: QPainter, rect: QRectF) -> None:
    """Photo, mask, prediction, uncertainty (see the module docstring)."""
    painter.fillRect(rect, BACKGROUND)
    layer = canvas.image_layer
    if layer is None:
        return
    from segstudio.gui.canvas.image_layer import draw_layer

    layers = canvas.layers
    if layers.drawn("image"):
        painter.setOpacity(layers.opacity("image"))
        draw_image(canvas, layer, painter, rect)
    mask_drawn = canvas.mask_drawn
    if mask_drawn:
        painter.setOpacity(canvas.mask_opacity)
        draw_layer(painter, canvas.mask_layer.qimage, rect)
    pred = canvas.prediction_layer
    if canvas.prediction_drawn and pred is not None:
        style = layers.prediction_style
        kind = STYLE_COPY.get(style, "all")
        image = pred.qimage(kind if mask_drawn or kind == "disagreement" else "all")
        if image is None and kind == "unlabeled":
            image = pred.qimage("all")  # the copy is being made: as before it existed
        if image is not None:
            draw_prediction(painter, image, rect, style, canvas.prediction_opacity)
    unc = canvas.uncertainty_layer
    if layers.drawn("uncertainty") and unc is not None and unc.qimage is not None:
        painter.setOpacity(layers.opacity("uncertainty"))
        draw_layer(painter, unc.qimage, rect)
    painter.setOpacity(1.0)


def draw_image(canvas: CanvasView, layer: ImageLayer, painter: QPainter, rect: QRectF) -> None:
    """The photo at the resolution that suits the zoom; a large one's reduced copies are made in the
    background, a strided copy (or the closest existing one) drawn meanwhile."""
    zoom = canvas.zoom
    index = layer.level_index(zoom)
    waiting = index >= layer.level_count and layer.pixels > SYNC_PIXELS
    if waiting:
        canvas.overlays.schedule_levels(index)
    # a copy rendered through the tables costs its pixels: only use one close to the right size
    close_enough = index // 2 if layer.direct else index - 1
    if waiting and layer.level_count <= close_enough:
        view = layer.quick_view(zoom)
    else:
        view = layer.view_for(zoom, build=not waiting)
    if view is None:
        return  # display settings not known yet
    # crisp pixels when zoomed in; smooth sampling only when zoomed out
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)
    view.draw(painter, rect)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)


def draw_prediction(painter: QPainter, image, rect: QRectF, style: str, opacity: float) -> None:
    """The prediction overlay in ``style`` (outline, hatched, disagreement hatched, or filled). Lines and
    stripes cover few pixels: they are drawn twice as opaque as the layer's opacity (at most fully)."""
    from segstudio.gui.canvas.image_layer import draw_layer

    if style == "outline":
        from segstudio.gui.canvas.overlay_styles import draw_outline

        draw_outline(painter, image, rect, min(1.0, 2.0 * opacity))
    elif style in ("hatched", "disagreement"):
        from segstudio.gui.canvas.overlay_styles import draw_hatched

        draw_hatched(painter, image, rect, min(1.0, 2.0 * opacity))
    else:
        painter.setOpacity(opacity)
        draw_layer(painter, image, rect)


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
