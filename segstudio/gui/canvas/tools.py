"""The painting tools (brush, eraser, fill, picker) and the registry of every canvas tool.

Each tool family has its module: :mod:`~segstudio.gui.canvas.polygon_tool` (the editable polygon),
:mod:`~segstudio.gui.canvas.box_tool` (GrabCut in a box), :mod:`~segstudio.gui.canvas.region_tools` (magic wand
and model-assisted click, with their previews). The base class and the surface a tool uses on the canvas are
in :mod:`~segstudio.gui.canvas.tool_base`; the pixel work is Qt-free in :mod:`segstudio.core.painting` and
:mod:`segstudio.core.segment_tools`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt

from segstudio.gui.canvas.box_tool import BoxTool
from segstudio.gui.canvas.polygon_tool import PolygonTool
from segstudio.gui.canvas.region_tools import RegionTool, WandTool
from segstudio.gui.canvas.tool_base import Tool, painting

if TYPE_CHECKING:
    from segstudio.gui.canvas.canvas_view import CanvasView

__all__ = ["TOOL_CLASSES", "TOOL_NAMES", "Tool"]


class BrushTool(Tool):
    """Round brush: left button paints the current class (the eraser paints 255); right button erases;
    Shift+click draws a straight line from the end of the previous stroke."""

    name = "brush"
    hint = "Brush: drag to paint the current class; right button erases; Shift+click draws a straight line; [ ] size"
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
        self._value = painting().ERASE_VALUE if erase else self.canvas.current_class
        self.canvas.begin_edit("Erase" if erase else "Brush")
        start = pos
        if self._stroke_end is not None and self.canvas.modifiers & Qt.KeyboardModifier.ShiftModifier:
            start = self._stroke_end
        self._last = QPointF(pos)
        painting().paint_segment(doc, start.x(), start.y(), pos.x(), pos.y(), self.canvas.brush_size, self._value)

    def move(self, pos: QPointF) -> None:
        doc = self.canvas.document()
        if doc is None or self._last is None:
            return
        last, self._last = self._last, QPointF(pos)
        painting().paint_segment(doc, last.x(), last.y(), pos.x(), pos.y(), self.canvas.brush_size, self._value)

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
    hint = "Eraser: drag to make pixels unlabeled again; [ ] size"
    erase = True


class FillTool(Tool):
    """Flood fill of the connected mask region under the click with the current class (one undo step)."""

    name = "fill"
    hint = "Fill: click a region of the mask to fill it (4-connected) with the current class"

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc = self.canvas.document()
        if doc is None or button != Qt.MouseButton.LeftButton:
            return
        self.canvas.begin_edit("Fill")
        painting().flood_fill(doc, pos.x(), pos.y(), self.canvas.current_class)
        self.canvas.finish_edit()


class PickerTool(Tool):
    """Click a labeled pixel to make its class the current one (emits ``classPicked``)."""

    name = "picker"
    hint = "Class picker: click a labeled pixel to paint with its class"

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc = self.canvas.document()
        if doc is None or button != Qt.MouseButton.LeftButton:
            return
        paint = painting()
        value = paint.pick_class(doc.mask, pos.x(), pos.y())
        if value is not None and value != paint.ERASE_VALUE:
            self.canvas.set_current_class(value)
            self.canvas.classPicked.emit(value)


TOOL_CLASSES: dict[str, type[Tool]] = {
    cls.name: cls for cls in (BrushTool, EraserTool, PolygonTool, BoxTool, FillTool, WandTool, RegionTool, PickerTool)
}
#: the tools in toolbar order
TOOL_NAMES: tuple[str, ...] = tuple(TOOL_CLASSES)
