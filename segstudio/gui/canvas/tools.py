"""Tool controllers: what a mouse press, move, release or key does for each canvas tool.

A tool gets positions in image coordinates (floats) and talks to the canvas through a small
surface: ``document()``, ``current_class``, ``brush_size``, ``wand_tolerance``, ``image_rgb()``,
``begin_edit(label)`` / ``finish_edit()`` (one undo step, then ``editFinished``), ``classPicked``,
``view_distance(a, b)`` and ``viewport().update()``. The pixel work itself is in
:mod:`segstudio.core.painting` (Qt-free).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.mask_document import MaskDocument
    from segstudio.gui.canvas.canvas_view import CanvasView

TOOL_NAMES: tuple[str, ...] = ("brush", "eraser", "polygon", "fill", "wand", "picker")
#: A click this close (viewport pixels) to the first polygon point closes the polygon.
CLOSE_DISTANCE_PX = 8.0


def _painting():
    """:mod:`segstudio.core.painting` (OpenCV + numpy), imported at the first edit so the window opens fast."""
    from segstudio.core import painting

    return painting


class Tool:
    """Base tool: ignores everything."""

    name = ""
    shows_brush = False

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        pass

    def move(self, pos: QPointF) -> None:
        pass

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        pass

    def double_click(self, pos: QPointF) -> None:
        pass

    def key(self, key: int) -> bool:
        """Handle a key; True when used."""
        return False

    def cancel(self) -> None:
        """Abort whatever is in progress (tool switch, new image)."""

    def draw(self, painter: QPainter) -> None:
        """Draw the tool's feedback in scene coordinates."""

    @property
    def busy(self) -> bool:
        return False


class BrushTool(Tool):
    """Round brush: left button paints the current class (the eraser paints 255); right button erases;
    Shift+click draws a straight line from the end of the previous stroke."""

    name = "brush"
    shows_brush = True
    erase = False

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._last: QPointF | None = None
        self._stroke_end: QPointF | None = None  # Shift+click continues from here in a straight line
        self._value = 0

    @property
    def busy(self) -> bool:
        return self._last is not None

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc = self.canvas.document()
        if doc is None or self._last is not None:
            return
        erase = self.erase or button == Qt.MouseButton.RightButton
        self._value = _painting().ERASE_VALUE if erase else self.canvas.current_class
        self.canvas.begin_edit("Erase" if erase else "Brush")
        start = pos
        if self._stroke_end is not None and self.canvas.modifiers & Qt.KeyboardModifier.ShiftModifier:
            start = self._stroke_end
        self._last = QPointF(pos)
        _painting().paint_segment(doc, start.x(), start.y(), pos.x(), pos.y(), self.canvas.brush_size, self._value)

    def move(self, pos: QPointF) -> None:
        doc = self.canvas.document()
        if doc is None or self._last is None:
            return
        last, self._last = self._last, QPointF(pos)
        _painting().paint_segment(doc, last.x(), last.y(), pos.x(), pos.y(), self.canvas.brush_size, self._value)

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if self._last is None:
            return
        self.move(pos)
        self._last = None
        self._stroke_end = QPointF(pos)
        self.canvas.finish_edit()

    def cancel(self) -> None:
        self._stroke_end = None
        if self._last is not None:
            self._last = None
            self.canvas.finish_edit()


class EraserTool(BrushTool):
    name = "eraser"
    erase = True


class PolygonTool(Tool):
    """Click points; close with a click on the first point, a double-click or Enter; Escape cancels."""

    name = "polygon"

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self.points: list[QPointF] = []
        self._hover: QPointF | None = None

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        if len(self.points) >= 3 and self.canvas.view_distance(pos, self.points[0]) <= CLOSE_DISTANCE_PX:
            self.close()
            return
        self._add(pos)

    def move(self, pos: QPointF) -> None:
        self._hover = QPointF(pos)
        if self.points:
            self.canvas.viewport().update()

    def double_click(self, pos: QPointF) -> None:
        self._add(pos)
        self.close()

    def key(self, key: int) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self.close()
            return True
        if key == Qt.Key.Key_Escape and self.points:
            self.cancel()
            return True
        return False

    def _add(self, pos: QPointF) -> None:
        if self.points and self.canvas.view_distance(pos, self.points[-1]) < 1.0:
            return  # the second click of a double-click, or a jitter
        self.points.append(QPointF(pos))
        self.canvas.viewport().update()

    def close(self) -> None:
        """Fill the polygon with the current class as one undo step."""
        doc = self.canvas.document()
        pts = [(p.x(), p.y()) for p in self.points]
        self.points = []
        self.canvas.viewport().update()
        if doc is None or len(pts) < 3:
            return
        self.canvas.begin_edit("Polygon")
        _painting().fill_polygon(doc, pts, self.canvas.current_class)
        self.canvas.finish_edit()

    def cancel(self) -> None:
        self.points = []
        self.canvas.viewport().update()

    def draw(self, painter: QPainter) -> None:
        if not self.points:
            return
        pts = self.points + ([self._hover] if self._hover is not None else [])
        outline = QPainterPath(pts[0])
        for p in pts[1:]:
            outline.lineTo(p)
        fill = QPainterPath(outline)
        fill.closeSubpath()
        color = self.canvas.class_color(self.canvas.current_class)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color.red(), color.green(), color.blue(), 70))
        painter.drawPath(fill)  # preview of what will be filled
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for c, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 0), 1)):
            pen = QPen(c, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(outline)
        scale = 1.0 / max(self.canvas.zoom, 1e-6)
        painter.setPen(QPen(QColor(0, 0, 0), 0))
        painter.setBrush(QColor(255, 255, 0))
        for p in self.points:  # vertex handles, 5 screen px
            painter.drawEllipse(p, 2.5 * scale, 2.5 * scale)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(255, 255, 0), 0))
        painter.drawEllipse(self.points[0], CLOSE_DISTANCE_PX * scale, CLOSE_DISTANCE_PX * scale)


class _ClickEditTool(Tool):
    """A left click is one undo step named ``label`` that runs :meth:`apply` on the document."""

    label = ""

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc, rgb = self.canvas.document(), self.canvas.image_rgb()
        if doc is None or rgb is None or button != Qt.MouseButton.LeftButton:
            return
        self.canvas.begin_edit(self.label)
        self.apply(doc, rgb, pos)
        self.canvas.finish_edit()

    def apply(self, doc: MaskDocument, rgb: np.ndarray, pos: QPointF) -> None:
        raise NotImplementedError


class FillTool(_ClickEditTool):
    """Flood fill of the connected mask region under the click with the current class."""

    name = "fill"
    label = "Fill"

    def apply(self, doc: MaskDocument, rgb: np.ndarray, pos: QPointF) -> None:
        _painting().flood_fill(doc, pos.x(), pos.y(), self.canvas.current_class)


class WandTool(_ClickEditTool):
    """Magic wand: flood fill on the image within ``wand_tolerance``, written as the current class."""

    name = "wand"
    label = "Magic wand"

    def apply(self, doc: MaskDocument, rgb: np.ndarray, pos: QPointF) -> None:
        _painting().magic_wand(doc, rgb, pos.x(), pos.y(), self.canvas.current_class, self.canvas.wand_tolerance)


class PickerTool(Tool):
    """Click a labeled pixel to make its class the current one (emits ``classPicked``)."""

    name = "picker"

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc = self.canvas.document()
        if doc is None or button != Qt.MouseButton.LeftButton:
            return
        painting = _painting()
        value = painting.pick_class(doc.mask, pos.x(), pos.y())
        if value is not None and value != painting.ERASE_VALUE:
            self.canvas.set_current_class(value)
            self.canvas.classPicked.emit(value)


TOOL_CLASSES: dict[str, type[Tool]] = {
    cls.name: cls for cls in (BrushTool, EraserTool, PolygonTool, FillTool, WandTool, PickerTool)
}
