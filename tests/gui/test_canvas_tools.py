"""The canvas painting tools, driven like a user: mouse events on the viewport, key presses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from segstudio.core.image_io import LoadedImage
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView

from canvas_helpers import canvas_runner, show_canvas

LEFT, RIGHT, NOMOD = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier


def make_canvas(qtbot, rgb: np.ndarray, mask: np.ndarray | None = None, zoom: float = 2.0) -> CanvasView:
    h, w = rgb.shape[:2]
    canvas = show_canvas(qtbot, rgb, mask, (360, 280))
    canvas.set_zoom(zoom)
    canvas.centerOn(w / 2, h / 2)
    canvas.set_current_class(1)
    return canvas


@pytest.fixture
def canvas(qtbot) -> CanvasView:
    return make_canvas(qtbot, np.full((100, 120, 3), 128, np.uint8))


def at(canvas: CanvasView, x: float, y: float) -> QPoint:
    """Viewport position of the centre of image pixel (x, y)."""
    return canvas.image_to_view(x + 0.5, y + 0.5)


def stroke(canvas: CanvasView, points: list[tuple[int, int]], button=LEFT) -> None:
    vp = canvas.viewport()
    QTest.mousePress(vp, button, NOMOD, at(canvas, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, at(canvas, *p))
    QTest.mouseRelease(vp, button, NOMOD, at(canvas, *points[-1]))


def test_brush_stroke_paints_expected_pixels_and_fills_gaps(canvas, qtbot):
    canvas.brush_size = 5
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        stroke(canvas, [(20, 50), (80, 50)])  # one fast 60 px move
    mask = canvas.document().mask
    assert (mask[50, 20:81] == 1).all(), "gap in the interpolated stroke"
    assert (mask[48:53, 50] == 1).all()  # 5 px thick
    assert mask[45, 50] == 255 and mask[55, 50] == 255  # outside the brush
    assert (mask[:40] == 255).all() and (mask[60:] == 255).all()  # far pixels untouched
    assert mask[50, 10] == 255 and mask[50, 90] == 255


def test_one_undo_step_per_stroke(canvas, qtbot):
    canvas.brush_size = 3
    spy = []
    canvas.editFinished.connect(lambda: spy.append(1))
    stroke(canvas, [(10, 10), (20, 15), (30, 20), (40, 40)])
    stroke(canvas, [(60, 60), (70, 60)])
    doc = canvas.document()
    assert len(spy) == 2 and doc.undo_labels == ["Brush", "Brush"]
    doc.undo()
    assert doc.mask[60, 65] == 255 and doc.mask[20, 30] == 1
    doc.undo()
    assert (doc.mask == 255).all()


def test_eraser_writes_255(qtbot):
    mask = np.full((100, 120), 2, np.uint8)
    canvas = make_canvas(qtbot, np.full((100, 120, 3), 128, np.uint8), mask)
    canvas.set_tool("eraser")
    canvas.brush_size = 7
    stroke(canvas, [(30, 30), (60, 30)])
    m = canvas.document().mask
    assert (m[30, 30:61] == 255).all()
    assert m[10, 10] == 2 and m[30, 80] == 2
    assert set(np.unique(m)) == {2, 255}


def test_right_button_erases_with_the_brush(qtbot):
    canvas = make_canvas(qtbot, np.full((100, 120, 3), 128, np.uint8), np.full((100, 120), 3, np.uint8))
    canvas.brush_size = 3
    stroke(canvas, [(50, 50)], button=RIGHT)
    assert canvas.document().mask[50, 50] == 255 and canvas.document().mask[40, 40] == 3


def test_polygon_fills_inside_when_closed_on_first_point(canvas, qtbot):
    canvas.set_tool("polygon")
    canvas.set_current_class(2)
    vp = canvas.viewport()
    corners = [(20, 20), (70, 20), (70, 60), (20, 60)]
    for p in corners:
        QTest.mouseClick(vp, LEFT, NOMOD, canvas.image_to_view(*p))
    assert (canvas.document().mask == 255).all()  # nothing until closed
    QTest.mouseClick(vp, LEFT, NOMOD, canvas.image_to_view(21, 21))  # near the first point: closes it
    assert canvas._tool.closed and (canvas.document().mask == 255).all()  # still editable, not written
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        QTest.keyClick(canvas, Qt.Key.Key_Return)  # Enter commits
    m = canvas.document().mask
    assert (m[20:60, 20:70] == 2).all()
    assert (m[:20] == 255).all() and (m[60:] == 255).all() and (m[:, 70:] == 255).all()
    assert canvas.document().undo_labels == ["Polygon"]


def test_polygon_double_click_closes(canvas, qtbot):
    canvas.set_tool("polygon")
    vp = canvas.viewport()
    for p in [(10, 10), (60, 10)]:
        QTest.mouseClick(vp, LEFT, NOMOD, canvas.image_to_view(*p))
    QTest.mouseDClick(vp, LEFT, NOMOD, canvas.image_to_view(10, 60))
    assert canvas._tool.closed and len(canvas._tool.points) == 3
    QTest.keyClick(canvas, Qt.Key.Key_Enter)
    m = canvas.document().mask
    assert m[20, 20] == 1 and m[55, 50] == 255  # the triangle's inside / outside
    assert len(canvas.document().undo_labels) == 1


def test_polygon_enter_closes_and_escape_cancels(canvas, qtbot):
    canvas.set_tool("polygon")
    vp = canvas.viewport()
    for p in [(10, 10), (40, 10), (40, 40)]:
        QTest.mouseClick(vp, LEFT, NOMOD, canvas.image_to_view(*p))
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert (canvas.document().mask == 255).all() and not canvas.document().can_undo
    for p in [(10, 10), (40, 10), (40, 40), (10, 40)]:
        QTest.mouseClick(vp, LEFT, NOMOD, canvas.image_to_view(*p))
    QTest.keyClick(canvas, Qt.Key.Key_Return)  # closes
    assert (canvas.document().mask == 255).all()
    QTest.keyClick(canvas, Qt.Key.Key_Return)  # fills
    m = canvas.document().mask
    assert (m[10:40, 10:40] == 1).all() and m[45, 45] == 255


def test_fill_tool_fills_connected_region_only(qtbot):
    mask = np.zeros((100, 120), np.uint8)
    mask[:, 60] = 3  # a wall
    canvas = make_canvas(qtbot, np.full((100, 120, 3), 128, np.uint8), mask)
    canvas.set_tool("fill")
    canvas.set_current_class(2)
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 30, 50))
    m = canvas.document().mask
    assert (m[:, :60] == 2).all() and (m[:, 60] == 3).all() and (m[:, 61:] == 0).all()


def test_magic_wand_respects_tolerance(qtbot):
    rgb = np.full((100, 120, 3), 50, np.uint8)
    rgb[:, 40:80] = 70  # 20 levels away from the seed
    rgb[:, 80:] = 200  # far away
    canvas = make_canvas(qtbot, rgb)
    canvas.set_tool("wand")
    canvas.wand_tolerance = 10
    QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 20, 50))
    m = canvas.document().mask
    assert (m[:, :40] == 1).all() and (m[:, 40:] == 255).all()
    canvas.document().undo()
    canvas.wand_tolerance = 30
    canvas.set_current_class(3)
    QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 20, 50))
    assert (m[:, :80] == 3).all() and (m[:, 80:] == 255).all()


def test_picker_emits_class_picked(qtbot):
    mask = np.full((100, 120), 255, np.uint8)
    mask[40:60, 40:60] = 3
    canvas = make_canvas(qtbot, np.full((100, 120, 3), 128, np.uint8), mask)
    canvas.set_tool("picker")
    with qtbot.waitSignal(canvas.classPicked, timeout=1000) as blocker:
        QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, at(canvas, 50, 50))
    assert blocker.args == [3] and canvas.current_class == 3
    assert not canvas.document().can_undo  # picking does not edit


def test_bracket_keys_change_brush_size(canvas, qtbot):
    canvas.brush_size = 10
    with qtbot.waitSignal(canvas.brushSizeChanged, timeout=1000) as blocker:
        QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size > 10 and blocker.args == [canvas.brush_size]
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size < 10
    canvas.brush_size = 1
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size == 1


def test_tool_switch_signal_and_unknown_tool(canvas, qtbot):
    with qtbot.waitSignal(canvas.toolChanged, timeout=1000) as blocker:
        canvas.set_tool("wand")
    assert blocker.args == ["wand"] and canvas.tool == "wand"
    with pytest.raises(ValueError, match="unknown tool"):
        canvas.set_tool("lasso")


def test_undo_in_document_repaints_canvas(canvas, qtbot):
    canvas.set_mask_opacity(1.0)
    canvas.brush_size = 9
    stroke(canvas, [(50, 50)])
    qtbot.waitUntil(lambda: canvas.grab().toImage().pixelColor(at(canvas, 50, 50)).red() == 255, timeout=1000)
    canvas.document().undo()
    qtbot.waitUntil(lambda: canvas.grab().toImage().pixelColor(at(canvas, 50, 50)).red() == 128, timeout=1000)
    assert canvas.document().mask[50, 50] == 255


def test_stroke_repaints_only_the_dirty_rect(qtbot):
    canvas = make_canvas(qtbot, np.full((400, 400, 3), 128, np.uint8), zoom=1.0)
    qtbot.wait(20)
    canvas.brush_size = 8
    vp = canvas.viewport()
    QTest.mousePress(vp, LEFT, NOMOD, at(canvas, 200, 200))
    before = canvas.paint_count
    QTest.mouseMove(vp, at(canvas, 204, 200))
    qtbot.waitUntil(lambda: canvas.paint_count > before, timeout=1000)
    r = canvas.last_paint_rect
    QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, 204, 200))
    assert r.width() * r.height() < 40 * 40 < vp.width() * vp.height()
    assert canvas.document().mask[200, 204] == 1


def test_painting_without_image_is_harmless(qtbot):
    canvas = CanvasView(canvas_runner())
    qtbot.addWidget(canvas)
    canvas.resize(200, 200)
    canvas.show()
    QTest.mouseClick(canvas.viewport(), LEFT, NOMOD, QPoint(50, 50))
    assert canvas.document() is None and canvas.image() is None
    canvas.set_image(None, None)
    assert canvas.document() is None


def test_document_outlives_a_deleted_canvas(qtbot):
    rgb = np.full((30, 30, 3), 128, np.uint8)
    doc = MaskDocument(np.full((30, 30), 255, np.uint8))
    canvas = CanvasView(canvas_runner())
    canvas.set_image(LoadedImage(Path("t.png"), rgb, rgb, "RGB"), doc)
    canvas.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(canvas), timeout=1000)
    doc.replace(np.ones((30, 30), np.uint8))  # its listener must not touch the dead widget
    assert doc.mask[0, 0] == 1


def test_shift_click_draws_straight_line_from_last_stroke(canvas):
    canvas.brush_size = 3
    stroke(canvas, [(10, 10)])
    vp = canvas.viewport()
    QTest.mouseClick(vp, LEFT, Qt.KeyboardModifier.ShiftModifier, at(canvas, 60, 10))
    m = canvas.document().mask
    assert (m[10, 10:61] == 1).all() and m[20, 30] == 255
    assert canvas.document().undo_labels == ["Brush", "Brush"]
    QTest.mouseClick(vp, LEFT, NOMOD, at(canvas, 60, 60))  # without Shift: just a dab
    assert m[35, 60] == 255


def test_canvas_takes_keyboard_focus_on_hover(canvas, qtbot):
    canvas.clearFocus()
    assert canvas.focusWidget() is not canvas
    QApplication.sendEvent(canvas, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert canvas.focusWidget() is canvas  # so [ ] and space work without a click first
