"""Prediction styles that make it distinguishable from the mask at a glance: outline and hatching.

Both work in screen space, on the exposed part only: the overlay is drawn (nearest sampling) into a scratch
image the size of the exposed viewport area, which is then reduced to its class boundaries (a 2-pixel line
on the inner side of every region, any zoom) or to diagonal stripes (8 screen pixels apart, continuous
across repaints), and drawn at the layer's opacity. The cost follows the exposed area, not the image.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap, QTransform

#: width of the outline in screen pixels (inner side of each region)
OUTLINE_PX = 2
#: period and width of the hatching stripes in screen pixels
HATCH_PERIOD, HATCH_WIDTH = 8, 3
_STRIPES: QPixmap | None = None


def _stripes() -> QPixmap:
    """An 8x8 tile with opaque diagonal stripes (transparent elsewhere)."""
    global _STRIPES
    if _STRIPES is None:
        image = QImage(HATCH_PERIOD, HATCH_PERIOD, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        for y in range(HATCH_PERIOD):
            for x in range(HATCH_PERIOD):
                if (x + y) % HATCH_PERIOD < HATCH_WIDTH:
                    image.setPixelColor(x, y, QColor(0, 0, 0, 255))
        _STRIPES = QPixmap.fromImage(image)
    return _STRIPES


def _scratch(painter: QPainter, image: QImage, rect: QRectF, margin: int) -> tuple[QImage, QRect] | None:
    """``image`` (at scene 0,0, one pixel per scene unit) drawn into a device-space scratch image covering
    the scene rect ``rect`` plus ``margin`` pixels; with its device rect."""
    from segstudio.gui.canvas.image_layer import draw_layer

    world = painter.transform()
    device = world.mapRect(rect).toAlignedRect().adjusted(-margin, -margin, margin, margin)
    if device.isEmpty():
        return None
    scratch = QImage(device.size(), QImage.Format.Format_ARGB32_Premultiplied)
    scratch.fill(Qt.GlobalColor.transparent)
    p = QPainter(scratch)
    p.setTransform(world * QTransform.fromTranslate(-device.x(), -device.y()))
    inverse, _ = world.inverted()
    draw_layer(p, image, inverse.mapRect(QRectF(device)))
    p.end()
    return scratch, device


def _blit(painter: QPainter, scratch: QImage, device: QRect, opacity: float) -> None:
    painter.save()
    painter.resetTransform()
    painter.setOpacity(opacity)
    painter.drawImage(device.topLeft(), scratch)
    painter.restore()


def draw_outline(painter: QPainter, image: QImage, rect: QRectF, opacity: float) -> None:
    """Only the boundaries of the overlay's regions, ``OUTLINE_PX`` screen pixels wide, in their colours."""
    got = _scratch(painter, image, rect, OUTLINE_PX + 1)
    if got is None:
        return
    scratch, device = got
    import cv2
    import numpy as np

    h, w = scratch.height(), scratch.width()
    px = np.frombuffer(scratch.bits(), np.uint8).reshape(h, scratch.bytesPerLine())[:, :4 * w].reshape(h, w, 4)
    size = 2 * OUTLINE_PX + 1
    edges = cv2.morphologyEx(px, cv2.MORPH_GRADIENT, np.ones((size, size), np.uint8))
    boundary = edges.view(np.uint32)[:, :, 0] != 0
    px[~boundary] = 0  # the coloured side keeps its colour; transparent pixels stay transparent
    _blit(painter, scratch, device, opacity)


def draw_hatched(painter: QPainter, image: QImage, rect: QRectF, opacity: float) -> None:
    """The overlay through diagonal stripes (fixed to the screen, so they line up across repaints)."""
    got = _scratch(painter, image, rect, 0)
    if got is None:
        return
    scratch, device = got
    p = QPainter(scratch)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
    brush = QBrush(_stripes())
    p.setBrushOrigin(QPoint(-(device.x() % HATCH_PERIOD), -(device.y() % HATCH_PERIOD)))
    p.fillRect(scratch.rect(), brush)
    p.end()
    _blit(painter, scratch, device, opacity)
