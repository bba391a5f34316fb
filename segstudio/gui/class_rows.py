"""The class list's rows: the class as before, plus an eye (shown / hidden on the canvas) and a padlock
(locked: cannot be painted over) at the right end of the row. A click on one toggles it."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

ICON_PX = 16
#: the toggles of a row, right to left
TOGGLES = ("lock", "visible")


def toggle_rect(row: QRect, which: str) -> QRect:
    """Where a row's toggle is drawn (``visible`` or ``lock``)."""
    k = TOGGLES.index(which)
    x = row.right() - 4 - (k + 1) * (ICON_PX + 6) + 6
    return QRect(x, row.center().y() - ICON_PX // 2, ICON_PX, ICON_PX)


def draw_eye(p: QPainter, r: QRectF, ink: QColor, open_: bool) -> None:
    p.setPen(QPen(ink, 1.4))
    p.setBrush(Qt.BrushStyle.NoBrush)
    c = r.center()
    eye = QPainterPath(QPointF(r.left() + 1, c.y()))
    eye.quadTo(QPointF(c.x(), r.top() - 1), QPointF(r.right() - 1, c.y()))
    eye.quadTo(QPointF(c.x(), r.bottom() + 1), QPointF(r.left() + 1, c.y()))
    p.drawPath(eye)
    if open_:
        p.setBrush(ink)
        p.drawEllipse(c, 2.6, 2.6)
    else:
        p.drawLine(QPointF(r.left() + 2, r.bottom() - 2), QPointF(r.right() - 2, r.top() + 2))


def draw_lock(p: QPainter, r: QRectF, ink: QColor, closed: bool) -> None:
    p.setPen(QPen(ink, 1.4))
    body = QRectF(r.left() + 3, r.center().y() - 1, r.width() - 6, r.height() / 2 - 0.5)
    shackle = QPainterPath()
    left, right, top = body.left() + 2, body.right() - 2, r.top() + 1.5
    shackle.moveTo(left, body.top())
    shackle.lineTo(left, top + 3)
    shackle.quadTo(left, top, (left + right) / 2, top)
    shackle.quadTo(right, top, right, top + 3)
    shackle.lineTo(right, body.top() - (0 if closed else 3))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(shackle)
    p.setBrush(ink if closed else Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(body, 1.5, 1.5)


class ClassRowDelegate(QStyledItemDelegate):
    """Paints the toggles from ``state(class_id) -> (hidden, locked)``; ``toggled(class_id, which)`` on a click."""

    toggled = Signal(int, str)

    def __init__(self, state: Callable[[int], tuple[bool, bool]], parent=None) -> None:
        super().__init__(parent)
        self.state = state

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        return QSize(size.width() + 2 * (ICON_PX + 6), max(size.height(), ICON_PX + 6))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        class_id = index.data(Qt.ItemDataRole.UserRole)
        if class_id is None:
            return
        hidden, locked = self.state(int(class_id))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ink = option.palette.color(role)
        faint = QColor(ink)
        faint.setAlpha(90)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw_eye(painter, QRectF(toggle_rect(option.rect, "visible")), faint if hidden else ink, not hidden)
        draw_lock(painter, QRectF(toggle_rect(option.rect, "lock")), ink if locked else faint, locked)
        painter.restore()

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton:
            pos = event.position().toPoint()
            for which in TOGGLES:
                if toggle_rect(option.rect, which).adjusted(-3, -3, 3, 3).contains(pos):
                    class_id = index.data(Qt.ItemDataRole.UserRole)
                    if class_id is not None:
                        self.toggled.emit(int(class_id), which)
                    return True
        return super().editorEvent(event, model, option, index)
