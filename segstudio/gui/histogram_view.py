"""The histogram the contrast limits are set over: bars (log counts), the lo / hi limits as handles, the
display curve between them (gamma), the value range outside the limits shaded.

Mouse: drag a handle (the nearer one to the press). Keyboard (when focused): Left / Right move the upper limit,
with Shift the lower one, by 1 % of the range (10 % with Ctrl). ``limitsChanged(lo, hi)`` while it moves.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    from segstudio.core.display import Histogram

HANDLE_PX = 6


class HistogramView(QWidget):
    """See the module docstring."""

    limitsChanged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("histogram_view")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Contrast limits: drag the handles (or Left/Right, Shift+Left/Right when focused)")
        self.histogram: Histogram | None = None
        self.lo, self.hi, self.gamma = 0.0, 1.0, 1.0
        self.color = QColor(255, 255, 255)
        self._drag: str | None = None
        self._bars: list[float] = []

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, 86)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(120, 86)

    # ---------------------------------------------------------------- content
    def set_content(self, histogram: Histogram | None, lo: float, hi: float, gamma: float = 1.0,
                    color: str = "#ffffff") -> None:
        if histogram is not self.histogram:
            self.histogram = histogram
            self._bars = [] if histogram is None else [math.log1p(float(c)) for c in histogram.counts]
        self.lo, self.hi, self.gamma, self.color = float(lo), float(hi), float(gamma), QColor(color)
        self.update()

    def value_range(self) -> tuple[float, float]:
        """The values the x axis spans: the histogram's range, widened to include the limits."""
        h = self.histogram
        lo, hi = (h.lo, h.hi) if h is not None else (self.lo, self.hi)
        lo, hi = min(lo, self.lo), max(hi, self.hi)
        return (lo, hi if hi > lo else lo + 1.0)

    def _plot(self) -> QRectF:
        return QRectF(HANDLE_PX, 4, max(1, self.width() - 2 * HANDLE_PX), max(1, self.height() - 8))

    def x_of(self, value: float) -> float:
        lo, hi = self.value_range()
        plot = self._plot()
        return plot.left() + (value - lo) / (hi - lo) * plot.width()

    def value_of(self, x: float) -> float:
        lo, hi = self.value_range()
        plot = self._plot()
        return lo + (x - plot.left()) / plot.width() * (hi - lo)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        plot = self._plot()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        ink = pal.color(QPalette.ColorRole.Text)
        h = self.histogram
        if self._bars and h is not None:
            top = max(self._bars) or 1.0
            bar_w = max(1.0, (self.x_of(h.hi) - self.x_of(h.lo)) / len(self._bars))
            bars = QColor(ink)
            bars.setAlpha(120)
            for i, v in enumerate(self._bars):
                if v > 0:
                    height = v / top * plot.height()
                    x = self.x_of(h.lo + (h.hi - h.lo) * i / len(self._bars))
                    p.fillRect(QRectF(x, plot.bottom() - height, bar_w, height), bars)
        x_lo, x_hi = self.x_of(self.lo), self.x_of(self.hi)
        shade = QColor(0, 0, 0, 60)
        p.fillRect(QRectF(plot.left(), plot.top(), max(0.0, x_lo - plot.left()), plot.height()), shade)
        p.fillRect(QRectF(x_hi, plot.top(), max(0.0, plot.right() - x_hi), plot.height()), shade)
        curve = QPainterPath(QPointF(x_lo, plot.bottom()))
        for k in range(1, 33):
            f = k / 32.0
            curve.lineTo(x_lo + (x_hi - x_lo) * f, plot.bottom() - plot.height() * f ** max(1e-3, self.gamma))
        curve.lineTo(plot.right(), plot.top())
        accent = QColor(self.color)
        if accent.lightness() > 200 or accent.lightness() < 40:  # white / black channel: the palette's highlight
            accent = pal.color(QPalette.ColorRole.Highlight)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(accent, 1.6))
        p.drawPath(curve)
        for x in (x_lo, x_hi):
            p.setPen(QPen(ink, 1.2))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.setBrush(accent)
            p.drawPolygon([QPointF(x - HANDLE_PX, plot.bottom() + 4), QPointF(x + HANDLE_PX, plot.bottom() + 4),
                           QPointF(x, plot.bottom() - HANDLE_PX)])
        if self.hasFocus():
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()

    # ---------------------------------------------------------------- interaction
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        self._drag = "lo" if abs(x - self.x_of(self.lo)) < abs(x - self.x_of(self.hi)) else "hi"
        self._move_to(x)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            self._move_to(event.position().x())

    def mouseReleaseEvent(self, _event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None

    def _move_to(self, x: float) -> None:
        value = self.value_of(x)
        lo, hi = self.value_range()
        step = (hi - lo) / 1000.0
        if self._drag == "lo":
            self._set(min(value, self.hi - step), self.hi)
        else:
            self._set(self.lo, max(value, self.lo + step))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key not in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            super().keyPressEvent(event)
            return
        lo, hi = self.value_range()
        step = (hi - lo) * (0.1 if event.modifiers() & Qt.KeyboardModifier.ControlModifier else 0.01)
        step *= -1 if key == Qt.Key.Key_Left else 1
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._set(min(self.lo + step, self.hi - abs(step) / 10), self.hi)
        else:
            self._set(self.lo, max(self.hi + step, self.lo + abs(step) / 10))
        event.accept()

    def _set(self, lo: float, hi: float) -> None:
        if (lo, hi) != (self.lo, self.hi):
            self.lo, self.hi = lo, hi
            self.update()
            self.limitsChanged.emit(lo, hi)
