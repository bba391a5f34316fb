"""Small vector icons drawn with QPainter (no icon files to ship), tinted for light or dark palettes."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication

SIZE = 32


def _ink() -> QColor:
    app = QApplication.instance()
    if app is None:
        return QColor(40, 40, 40)
    return app.palette().color(QPalette.ColorRole.WindowText)


def _draw(name: str, p: QPainter, ink: QColor) -> None:
    accent = QColor(61, 133, 214)
    pen = QPen(ink, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    if name == "brush":
        p.save()
        p.translate(16, 16)
        p.rotate(45)
        p.setBrush(ink)
        p.drawRoundedRect(QRectF(-2.5, -14, 5, 14), 2, 2)
        p.setBrush(accent)
        path = QPainterPath(QPointF(-4, 1))
        path.lineTo(4, 1)
        path.quadTo(5, 10, 0, 14)
        path.quadTo(-5, 10, -4, 1)
        p.drawPath(path)
        p.restore()
    elif name == "eraser":
        p.save()
        p.translate(16, 17)
        p.rotate(-40)
        p.setBrush(QColor(230, 120, 140))
        p.drawRoundedRect(QRectF(-11, -6, 12, 12), 2, 2)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(1, -6, 10, 12), 2, 2)
        p.restore()
        p.drawLine(QPointF(6, 28), QPointF(27, 28))
    elif name == "polygon":
        pts = [QPointF(6, 24), QPointF(10, 7), QPointF(25, 10), QPointF(27, 25), QPointF(16, 20)]
        p.setBrush(QColor(accent.red(), accent.green(), accent.blue(), 70))
        p.drawPolygon(QPolygonF(pts))
        p.setBrush(ink)
        for pt in pts:
            p.drawEllipse(pt, 2.2, 2.2)
    elif name == "box":
        p.setPen(QPen(ink, 1.8, Qt.PenStyle.DashLine))
        p.drawRect(QRectF(4, 5, 24, 22))
        p.setPen(pen)
        p.setBrush(QColor(accent.red(), accent.green(), accent.blue(), 150))
        p.drawEllipse(QRectF(9, 10, 14, 12))
        p.setBrush(ink)
        p.setPen(Qt.PenStyle.NoPen)
        for x, y in ((4, 5), (28, 5), (4, 27), (28, 27)):
            p.drawRect(QRectF(x - 2.2, y - 2.2, 4.4, 4.4))
    elif name == "region":
        p.setBrush(QColor(accent.red(), accent.green(), accent.blue(), 90))
        p.setPen(QPen(ink, 1.6, Qt.PenStyle.DashLine))
        p.drawRoundedRect(QRectF(4, 4, 19, 17), 6, 6)
        p.setPen(pen)
        p.setBrush(ink)
        arrow = [QPointF(15, 12), QPointF(15, 29), QPointF(19, 25), QPointF(22, 31), QPointF(25, 29.5),
                 QPointF(22, 24), QPointF(27, 23)]
        p.drawPolygon(QPolygonF(arrow))
    elif name == "fill":
        p.save()
        p.translate(14, 17)
        p.rotate(-30)
        p.drawRect(QRectF(-8, -8, 16, 14))
        p.restore()
        p.setBrush(accent)
        p.setPen(Qt.PenStyle.NoPen)
        path = QPainterPath(QPointF(26, 18))
        path.quadTo(30, 25, 26, 27)
        path.quadTo(22, 25, 26, 18)
        p.drawPath(path)
    elif name == "wand":
        p.drawLine(QPointF(6, 27), QPointF(20, 13))
        p.setPen(QPen(accent, 2))
        for i in range(8):
            a = i * math.pi / 4
            p.drawLine(QPointF(23 + 3 * math.cos(a), 9 + 3 * math.sin(a)), QPointF(23 + 6 * math.cos(a), 9 + 6 * math.sin(a)))
    elif name == "picker":
        p.save()
        p.translate(16, 16)
        p.rotate(45)
        p.drawRoundedRect(QRectF(-3, -4, 6, 16), 1.5, 1.5)
        p.setBrush(ink)
        p.drawRoundedRect(QRectF(-5, -13, 10, 8), 3, 3)
        p.restore()
        p.setBrush(accent)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QPointF(7, 26), 3, 3)
    elif name in ("zoom_in", "zoom_out", "zoom_fit", "zoom_1"):
        if name == "zoom_fit":
            for x, y, dx, dy in ((5, 5, 1, 1), (27, 5, -1, 1), (5, 27, 1, -1), (27, 27, -1, -1)):
                p.drawLine(QPointF(x, y), QPointF(x + 7 * dx, y))
                p.drawLine(QPointF(x, y), QPointF(x, y + 7 * dy))
            p.drawRect(QRectF(11, 11, 10, 10))
            return
        p.drawEllipse(QPointF(13, 13), 8, 8)
        p.drawLine(QPointF(19, 19), QPointF(27, 27))
        if name == "zoom_1":
            f = p.font()
            f.setPixelSize(10)
            f.setBold(True)
            p.setFont(f)
            p.drawText(QRectF(5, 5, 16, 16), Qt.AlignmentFlag.AlignCenter, "1:1")
            return
        p.drawLine(QPointF(9, 13), QPointF(17, 13))
        if name == "zoom_in":
            p.drawLine(QPointF(13, 9), QPointF(13, 17))
    elif name in ("undo", "redo"):
        if name == "redo":
            p.translate(SIZE, 0)
            p.scale(-1, 1)
        path = QPainterPath(QPointF(9, 13))
        path.cubicTo(QPointF(16, 6), QPointF(28, 9), QPointF(25, 21))
        path.cubicTo(QPointF(23, 25), QPointF(20, 26), QPointF(16, 26))
        p.drawPath(path)
        p.setBrush(ink)
        p.drawPolygon(QPolygonF([QPointF(5, 14), QPointF(13, 6), QPointF(14, 16)]))
    elif name in ("prev", "next"):
        if name == "next":
            p.translate(SIZE, 0)
            p.scale(-1, 1)
        p.drawPolyline(QPolygonF([QPointF(20, 6), QPointF(10, 16), QPointF(20, 26)]))
    elif name == "mask":
        p.setBrush(QColor(230, 25, 75, 160))
        p.drawEllipse(QRectF(5, 8, 14, 14))
        p.setBrush(QColor(60, 180, 75, 160))
        p.drawEllipse(QRectF(13, 10, 14, 14))
    elif name == "prediction":
        p.setBrush(QColor(accent.red(), accent.green(), accent.blue(), 110))
        p.setPen(QPen(ink, 1.6, Qt.PenStyle.DashLine))
        p.drawRoundedRect(QRectF(5, 7, 22, 18), 5, 5)
        p.setPen(pen)
        p.drawLine(QPointF(11, 16), QPointF(15, 20))
        p.drawLine(QPointF(15, 20), QPointF(22, 12))


def icon(name: str) -> QIcon:
    """A drawn icon (32 px, scales down cleanly)."""
    ink = _ink()
    pix = QPixmap(SIZE, SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QBrush())
    _draw(name, p, ink)
    p.end()
    return QIcon(pix)
