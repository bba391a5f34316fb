"""The editable polygon (as in LabelMe): clicks add vertices; the polygon stays editable until Enter fills it.

Open: each click adds a vertex; a click on the first vertex, a double-click or Enter closes it. Open or
closed: drag a vertex to move it, click on an edge to insert a vertex there (and drag it), Delete /
Backspace removes the vertex under the cursor (the last one of an open polygon when none is) and a right
click removes the one clicked. Closed, Enter fills it with the current class (one undo step, through
:func:`segstudio.core.painting.fill_polygon`, so the paint rules apply); Escape drops it at any time.
Hit-testing is in viewport pixels, so it works the same at any zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from segstudio.gui.canvas.tool_base import Tool, painting

#: a vertex or an edge this close to the cursor (viewport pixels) is under it
HANDLE_PX = 7.0
#: radius (viewport pixels) of the ring around the first vertex that closes an open polygon
CLOSE_DISTANCE_PX = 8.0
DELETE_KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _project(p: QPointF, a: QPointF, b: QPointF) -> QPointF:
    """The point of segment a-b closest to p."""
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 < 1e-12 else max(0.0, min(1.0, ((p.x() - a.x()) * dx + (p.y() - a.y()) * dy) / length2))
    return QPointF(a.x() + t * dx, a.y() + t * dy)


class PolygonTool(Tool):
    """See the module docstring."""

    name = "polygon"
    hint = "Polygon: click points; Enter closes, Enter again fills, Esc cancels; drag, edge-click, Delete edit points"
    wants_double_click = True

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.points: list[QPointF] = []
        self.closed = False
        self._hover: QPointF | None = None
        self._drag: int | None = None  # index of the vertex being dragged
        self._drag_moved = False

    @property
    def busy(self) -> bool:
        return bool(self.points)

    # ---------------------------------------------------------------- hit-testing (viewport pixels)
    def vertex_at(self, pos: QPointF) -> int | None:
        """The index of the vertex under ``pos`` (the nearest within HANDLE_PX), or None."""
        best, best_d = None, HANDLE_PX
        for i, p in enumerate(self.points):
            d = self.canvas.view_distance(pos, p)
            if d <= best_d:
                best, best_d = i, d
        return best

    def edge_at(self, pos: QPointF) -> tuple[int, QPointF] | None:
        """(index to insert at, point on the edge) for the edge under ``pos``, or None."""
        n = len(self.points)
        pairs = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if self.closed and n >= 3 else [])
        best, best_d = None, HANDLE_PX
        for i, j in pairs:
            q = _project(pos, self.points[i], self.points[j])
            d = self.canvas.view_distance(pos, q)
            if d <= best_d:
                best, best_d = (i + 1, q), d
        return best

    # ---------------------------------------------------------------- mouse
    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if self.canvas.document() is None:
            return
        if button == Qt.MouseButton.RightButton:
            i = self.vertex_at(pos)
            if i is not None:
                self.delete_vertex(i)
            return
        if button != Qt.MouseButton.LeftButton:
            return
        i = self.vertex_at(pos)
        if i is not None:
            self._drag, self._drag_moved = i, False
            return
        edge = self.edge_at(pos)
        if edge is not None:
            index, point = edge
            self.points.insert(index, point)
            self._drag, self._drag_moved = index, True
        elif not self.closed:
            self._add(pos)
        self.canvas.viewport().update()

    def move(self, pos: QPointF) -> None:
        self._hover = QPointF(pos)
        if self._drag is not None:
            if self._drag_moved or self.canvas.view_distance(pos, self.points[self._drag]) >= 2.0:
                self.points[self._drag] = QPointF(pos)
                self._drag_moved = True
        if self.points:
            self.canvas.viewport().update()

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if self._drag is None:
            return
        index, moved = self._drag, self._drag_moved
        self._drag = None
        if not moved and index == 0 and not self.closed and len(self.points) >= 3:
            self.closed = True  # a click on the first vertex closes the polygon
        self.canvas.viewport().update()

    def double_click(self, pos: QPointF) -> None:
        if self.closed or self.canvas.document() is None:
            return
        self._add(pos)  # the first click of the double-click added it already: no duplicate
        if len(self.points) >= 3:
            self.closed = True
        self.canvas.viewport().update()

    def key(self, key: int) -> bool:
        if not self.points:
            return False
        if key in ENTER_KEYS:
            if self.closed:
                self.commit()
            elif len(self.points) >= 3:
                self.closed = True
                self.canvas.viewport().update()
            return True
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return True
        if key in DELETE_KEYS:
            i = self.vertex_at(self._hover) if self._hover is not None else None
            if i is None and not self.closed:
                i = len(self.points) - 1
            if i is not None:
                self.delete_vertex(i)
            return True
        return False

    # ---------------------------------------------------------------- editing
    def _add(self, pos: QPointF) -> None:
        if self.points and self.canvas.view_distance(pos, self.points[-1]) < 1.0:
            return  # the second click of a double-click, or a jitter
        self.points.append(QPointF(pos))

    def delete_vertex(self, index: int) -> None:
        """Remove a vertex; a closed polygon left with fewer than 3 opens again."""
        del self.points[index]
        if len(self.points) < 3:
            self.closed = False
        self._drag = None
        self.canvas.viewport().update()

    def commit(self) -> None:
        """Fill the closed polygon with the current class as one undo step."""
        doc = self.canvas.document()
        pts = [(p.x(), p.y()) for p in self.points]
        self.cancel()
        if doc is None or len(pts) < 3:
            return
        self.canvas.begin_edit("Polygon")
        painting().fill_polygon(doc, pts, self.canvas.current_class)
        self.canvas.finish_edit()

    def cancel(self) -> None:
        self.points = []
        self.closed = False
        self._drag = None
        self.canvas.viewport().update()

    # ---------------------------------------------------------------- drawing
    def draw(self, painter: QPainter) -> None:
        if not self.points:
            return
        pts = list(self.points)
        if not self.closed and self._hover is not None and self._drag is None:
            pts.append(self._hover)  # the rubber band to the cursor
        outline = QPainterPath(pts[0])
        for p in pts[1:]:
            outline.lineTo(p)
        fill = QPainterPath(outline)
        fill.closeSubpath()
        if self.closed:
            outline.closeSubpath()
        color = self.canvas.class_color(self.canvas.current_class)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color.red(), color.green(), color.blue(), 90 if self.closed else 60))
        painter.drawPath(fill)  # what Enter will fill
        painter.setBrush(Qt.BrushStyle.NoBrush)
        line = QColor(255, 255, 0) if not self.closed else QColor(255, 255, 255)
        for c, width in ((QColor(0, 0, 0, 200), 3), (line, 1)):
            pen = QPen(c, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(outline)
        scale = 1.0 / max(self.canvas.zoom, 1e-6)
        hover = None if self._hover is None else self.vertex_at(self._hover)
        if self._drag is not None:
            hover = self._drag
        edge = None if hover is not None or self._hover is None else self.edge_at(self._hover)
        if edge is not None:  # where a click inserts a vertex
            painter.setPen(QPen(QColor(0, 0, 0), 0))
            painter.setBrush(QColor(255, 255, 255, 160))
            painter.drawEllipse(edge[1], 3.0 * scale, 3.0 * scale)
        for i, p in enumerate(self.points):
            half = (5.0 if i == hover else 3.5) * scale
            painter.setPen(QPen(QColor(0, 0, 0), 0))
            painter.setBrush(QColor(255, 200, 0) if i == hover else QColor(255, 255, 255))
            painter.drawRect(QRectF(p.x() - half, p.y() - half, 2 * half, 2 * half))
        if not self.closed and len(self.points) >= 3:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(255, 255, 0), 0))
            r = CLOSE_DISTANCE_PX * scale
            painter.drawEllipse(self.points[0], r, r)

