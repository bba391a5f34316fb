"""The editable polygon, driven with the mouse and keys on the viewport: vertices dragged, inserted on an edge,
deleted; closing keeps it editable; Enter fills it (one undo step); Escape leaves the mask as it was."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.mask_document import MaskDocument
from segstudio.core.painting import fill_polygon

from tool_helpers import RIGHT, click, disk_canvas, drag, hover

SQUARE = [(45, 40), (65, 40), (65, 60), (45, 60)]


def polygon_canvas(qtbot, tmp_path, zoom=2.0, mask=None):
    canvas = disk_canvas(qtbot, tmp_path, np.full((100, 120, 3), 128, np.uint8), mask, zoom=zoom, centre=(60, 50))
    canvas.set_tool("polygon")
    for p in SQUARE:
        click(canvas, *p)
    click(canvas, *SQUARE[0])  # on the first point: closed, still editable
    tool = canvas._tool
    assert tool.closed and len(tool.points) == 4 and not canvas.document().can_undo  # nothing written yet
    return canvas, tool


def rasterised(points, shape=(100, 120), value=1) -> np.ndarray:
    doc = MaskDocument(np.full(shape, 255, np.uint8))
    fill_polygon(doc, points, value)
    return doc.mask == value


@pytest.mark.parametrize("zoom", [1.0, 4.0])
def test_dragging_a_vertex_changes_the_filled_area(qtbot, tmp_path, zoom):
    canvas, tool = polygon_canvas(qtbot, tmp_path, zoom)
    square = rasterised([(p.x(), p.y()) for p in tool.points])
    drag(canvas, (65, 60), (75, 68))  # the bottom-right vertex
    assert len(tool.points) == 4 and tool.closed
    moved = [(p.x(), p.y()) for p in tool.points]
    assert abs(moved[2][0] - 75.5) < 0.6 and abs(moved[2][1] - 68.5) < 0.6
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        QTest.keyClick(canvas, Qt.Key.Key_Return)
    filled = canvas.document().mask == 1
    assert np.array_equal(filled, rasterised(moved)) and filled.sum() > square.sum()
    assert filled[64, 70] and not square[64, 70]
    assert canvas.document().undo_labels == ["Polygon"] and not tool.points


def test_a_click_on_an_edge_inserts_a_vertex_that_can_be_dragged(qtbot, tmp_path):
    canvas, tool = polygon_canvas(qtbot, tmp_path)
    drag(canvas, (55, 40), (55, 28))  # press on the top edge, pull it up
    assert len(tool.points) == 5 and abs(tool.points[1].y() - 28.5) < 0.6
    QTest.keyClick(canvas, Qt.Key.Key_Enter)
    m = canvas.document().mask
    assert m[33, 55] == 1 and m[33, 47] == 255 and (m[41:60, 46:65] == 1).all()


def test_right_click_and_delete_remove_vertices_and_escape_cancels(qtbot, tmp_path):
    canvas, tool = polygon_canvas(qtbot, tmp_path)
    click(canvas, 65, 60, RIGHT)  # right-click on a vertex deletes it
    assert len(tool.points) == 3 and tool.closed
    hover(canvas, 65, 40)
    QTest.keyClick(canvas, Qt.Key.Key_Delete)  # the vertex under the cursor
    assert len(tool.points) == 2 and not tool.closed  # too few to stay closed
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert not tool.points and (canvas.document().mask == 255).all() and not canvas.document().can_undo


def test_open_polygon_backspace_drops_the_last_point_and_enter_twice_fills(qtbot, tmp_path):
    canvas = disk_canvas(qtbot, tmp_path, np.full((100, 120, 3), 128, np.uint8), centre=(60, 50))
    canvas.set_tool("polygon")
    for p in SQUARE + [(30, 75)]:
        click(canvas, *p)
    hover(canvas, 90, 90)  # not over a vertex: Backspace drops the last point of the open polygon
    QTest.keyClick(canvas, Qt.Key.Key_Backspace)
    assert len(canvas._tool.points) == 4
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert canvas._tool.closed and (canvas.document().mask == 255).all()
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert (canvas.document().mask[41:60, 46:65] == 1).all() and canvas.document().mask[70, 32] == 255


def test_a_polygon_does_not_overwrite_a_locked_class(qtbot, tmp_path):
    from segstudio.core.paint_rules import PaintRules

    mask = np.full((100, 120), 255, np.uint8)
    mask[40:50, 40:70] = 2
    canvas, tool = polygon_canvas(qtbot, tmp_path, mask=mask)
    canvas.document().rules = PaintRules(frozenset({2}))
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    m = canvas.document().mask
    assert (m[40:50, 40:70] == 2).all() and (m[51:60, 46:65] == 1).all()
