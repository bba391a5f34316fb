"""The box tool: drag a rectangle around an object, GrabCut segments it off the GUI thread, the result is
previewed; Enter or a double-click writes it with the current class (one undo step, paint rules apply), Escape
drops it, dragging the box's handles (or a new box) recomputes.

GrabCut (:func:`segstudio.core.segment_tools.grabcut_box`) runs on the job runner's ``io`` lane (latest wins)
on the box and a margin around it, as the canvas shows the image, scaled down to a bounded size. When the
image has a prediction, the pixels it predicts as the current class initialise GrabCut as probable
foreground, the others as probable background.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from segstudio.gui.canvas.region_preview import RegionOverlay
from segstudio.gui.canvas.tool_base import Tool, segment_tools

#: a handle this close to the cursor (viewport pixels) is under it
HANDLE_PX = 7.0
#: a press must move this far (viewport pixels) to start a new box
DRAG_START_PX = 4.0
#: which box edges each of the 8 handles moves: (x edge, y edge); 0 = left/top, 1 = right/bottom, None = neither
HANDLE_EDGES = ((0, 0), (1, 0), (1, 1), (0, 1), (None, 0), (1, None), (None, 1), (0, None))
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class BoxTool(Tool):
    """See the module docstring."""

    name = "box"
    label = "Box"
    hint = "Box: drag around an object to preview GrabCut; handles adjust; Enter/double-click accepts, Esc rejects"
    wants_double_click = True

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) image pixels, end exclusive
        self.preview = RegionOverlay(canvas)
        self._drag: tuple[str, object] | None = None  # ("new", origin) or ("handle", index)
        self._changed = False  # the box changed during the drag
        self._hover: QPointF | None = None
        self._accept_when_ready = False
        self._key = f"canvas:{id(canvas)}:grabcut"

    @property
    def busy(self) -> bool:
        return self.box is not None

    @property
    def computing(self) -> bool:
        return self.canvas.runner.pending(self._key)

    # ---------------------------------------------------------------- handles
    def handles(self) -> list[QPointF]:
        if self.box is None:
            return []
        x0, y0, x1, y1 = self.box
        mx, my = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        return [QPointF(x0, y0), QPointF(x1, y0), QPointF(x1, y1), QPointF(x0, y1),
                QPointF(mx, y0), QPointF(x1, my), QPointF(mx, y1), QPointF(x0, my)]

    def handle_at(self, pos: QPointF) -> int | None:
        best, best_d = None, HANDLE_PX
        for i, p in enumerate(self.handles()):
            d = self.canvas.view_distance(pos, p)
            if d <= best_d:
                best, best_d = i, d
        return best

    def _clip_box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        image = self.canvas.image()
        w, h = (image.width, image.height) if image is not None else (0, 0)
        ax, bx = sorted((x0, x1))
        ay, by = sorted((y0, y1))
        return (max(0, min(w, math.floor(ax))), max(0, min(h, math.floor(ay))),
                max(0, min(w, math.ceil(bx))), max(0, min(h, math.ceil(by))))

    def _set_box(self, box: tuple[int, int, int, int] | None) -> None:
        if box == self.box:
            return
        self.canvas.runner.cancel(self._key)
        self.preview.clear()
        self._accept_when_ready = False
        self.box = box
        self._changed = True
        self.canvas.viewport().update()

    # ---------------------------------------------------------------- mouse and keys
    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        handle = self.handle_at(pos)
        self._changed = False
        self._drag = ("handle", handle) if handle is not None else ("new", QPointF(pos))

    def move(self, pos: QPointF) -> None:
        self._hover = QPointF(pos)
        drag = self._drag
        if drag is None:
            if self.box is not None:
                self.canvas.viewport().update()  # hover highlight of the handles
            return
        kind, what = drag
        if kind == "new":
            origin = what
            if self._changed or self.canvas.view_distance(origin, pos) >= DRAG_START_PX:
                self._set_box(self._clip_box(origin.x(), origin.y(), pos.x(), pos.y()))
        elif self.box is not None:
            x0, y0, x1, y1 = self.box
            ex, ey = HANDLE_EDGES[what]
            if ex == 0:
                x0 = pos.x()
            elif ex == 1:
                x1 = pos.x()
            if ey == 0:
                y0 = pos.y()
            elif ey == 1:
                y1 = pos.y()
            self._set_box(self._clip_box(x0, y0, x1, y1))

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if self._drag is None:
            return
        self.move(pos)
        self._drag = None
        if self._changed:
            self._changed = False
            self.compute()

    def double_click(self, pos: QPointF) -> None:
        self.accept()

    def key(self, key: int) -> bool:
        if self.box is None:
            return False
        if key in ENTER_KEYS:
            self.accept()
            return True
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    # ---------------------------------------------------------------- GrabCut, accept, reject
    def compute(self) -> None:
        """Segment the box on the job runner; the preview shows the result when it arrives."""
        image, box = self.canvas.image(), self.box
        if image is None or box is None or box[2] - box[0] < 3 or box[3] - box[1] < 3:
            self._set_box(None)
            return
        st = segment_tools()
        w, h = image.width, image.height
        prior = None
        got = self.canvas.prediction()
        if got is not None:
            c = st.grabcut_crop(box, w, h)
            prior = got[0][c[1]:c[3], c[0]:c[2]] == self.canvas.current_class
        data, settings = image.data, self.canvas.display_settings
        color = self.canvas.class_color(self.canvas.current_class)

        def work(job):
            region = st.grabcut_box(st.composite_reader(data, settings), w, h, box, prior)
            return region, (None if region is None else region.outline())

        def done(result) -> None:
            region, outline = result
            self.preview.set(region, color, outline)
            if region is None:
                self.canvas.toolMessage.emit("GrabCut found no object in the box: try a box closer to it")
            elif self._accept_when_ready:
                self.accept()

        self.canvas.runner.submit(self._key, work, lane="io", priority=-4, on_done=done)
        self.canvas.viewport().update()

    def accept(self) -> None:
        """Write the previewed region with the current class (one undo step); waits for a pending result."""
        region, doc = self.preview.region, self.canvas.document()
        if region is None:
            self._accept_when_ready = self.computing
            return
        self.cancel()
        if doc is None:
            return
        self.canvas.begin_edit(self.label)
        segment_tools().write_region(doc, region, self.canvas.current_class)
        self.canvas.finish_edit()

    def cancel(self) -> None:
        self.canvas.runner.cancel(self._key)
        self._drag = None
        self._accept_when_ready = False
        self.preview.clear()
        if self.box is not None:
            self.box = None
            self.canvas.viewport().update()

    def options_changed(self) -> None:
        if self.preview.region is not None:  # the preview takes the new class colour
            self.preview.set(self.preview.region, self.canvas.class_color(self.canvas.current_class))

    # ---------------------------------------------------------------- drawing
    def draw(self, painter: QPainter) -> None:
        self.preview.draw(painter)
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        style = Qt.PenStyle.DashLine if self.computing else Qt.PenStyle.SolidLine
        for c, width, s in ((QColor(0, 0, 0, 200), 3, Qt.PenStyle.SolidLine), (QColor(255, 255, 0), 1, style)):
            pen = QPen(c, width, s)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(rect)
        scale = 1.0 / max(self.canvas.zoom, 1e-6)
        hover = None if self._hover is None or self._drag is not None else self.handle_at(self._hover)
        if self._drag is not None and self._drag[0] == "handle":
            hover = self._drag[1]
        for i, p in enumerate(self.handles()):
            half = (5.0 if i == hover else 3.5) * scale
            painter.setPen(QPen(QColor(0, 0, 0), 0))
            painter.setBrush(QColor(255, 200, 0) if i == hover else QColor(255, 255, 255))
            painter.drawRect(QRectF(p.x() - half, p.y() - half, 2 * half, 2 * half))
