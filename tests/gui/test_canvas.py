"""The canvas view: zoom, pan, cursor reporting, mask and prediction overlays, as a user sees them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from segstudio.core.image_io import LoadedImage
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView

from canvas_helpers import show_canvas

NOMOD = Qt.KeyboardModifier.NoModifier


def make_canvas(qtbot, rgb: np.ndarray, mask: np.ndarray | None = None) -> CanvasView:
    return show_canvas(qtbot, rgb, mask, (320, 240))


@pytest.fixture
def canvas(qtbot) -> CanvasView:
    return make_canvas(qtbot, np.full((200, 300, 3), 128, np.uint8))


def color_at(canvas: CanvasView, x: float, y: float) -> tuple[int, int, int]:
    """Screen colour at the centre of image pixel (x, y)."""
    c = canvas.grab().toImage().pixelColor(canvas.image_to_view(x + 0.5, y + 0.5))
    return (c.red(), c.green(), c.blue())


def wheel(canvas: CanvasView, pos: QPoint, delta: int) -> None:
    vp = canvas.viewport()
    event = QWheelEvent(
        QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
        Qt.MouseButton.NoButton, NOMOD, Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(vp, event)


def test_image_is_fitted_and_centred_when_shown(canvas):
    vp = canvas.viewport()
    assert canvas.zoom == pytest.approx(min(vp.width() / 300, vp.height() / 200))
    centre = canvas.image_to_view(150, 100)
    assert abs(centre.x() - vp.width() / 2) <= 1 and abs(centre.y() - vp.height() / 2) <= 1


def test_wheel_zoom_keeps_image_point_under_cursor(canvas, qtbot):
    canvas.set_zoom(2.0)
    pos = QPoint(100, 80)
    before = canvas.view_to_image(QPointF(pos))
    with qtbot.waitSignal(canvas.zoomChanged, timeout=1000):
        wheel(canvas, pos, 120)
    assert canvas.zoom > 2.0
    after = canvas.view_to_image(QPointF(pos))
    assert abs(after.x() - before.x()) < 1.0 / canvas.zoom + 1e-6
    assert abs(after.y() - before.y()) < 1.0 / canvas.zoom + 1e-6
    zoom_in = canvas.zoom
    wheel(canvas, pos, -240)
    assert canvas.zoom < zoom_in
    again = canvas.view_to_image(QPointF(pos))
    assert abs(again.x() - before.x()) < 1.0 and abs(again.y() - before.y()) < 1.0


def test_middle_button_pan_moves_the_view(canvas):
    canvas.set_zoom(4.0)
    vp = canvas.viewport()
    start, end = QPoint(150, 120), QPoint(110, 90)
    before = canvas.view_to_image(QPointF(start))
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, NOMOD, start)
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, NOMOD, end)
    after = canvas.view_to_image(QPointF(end))  # the grabbed image point followed the mouse
    assert after.x() == pytest.approx(before.x(), abs=0.3) and after.y() == pytest.approx(before.y(), abs=0.3)
    assert (canvas.document().mask == 255).all()  # panning does not paint


def test_space_drag_pans_instead_of_painting(canvas):
    canvas.set_zoom(4.0)
    vp = canvas.viewport()
    before = canvas.view_to_image(QPointF(150, 120))
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NOMOD, QPoint(150, 120))
    QTest.mouseMove(vp, QPoint(190, 140))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NOMOD, QPoint(190, 140))
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    after = canvas.view_to_image(QPointF(190, 140))
    assert after.x() == pytest.approx(before.x(), abs=0.3) and after.y() == pytest.approx(before.y(), abs=0.3)
    assert (canvas.document().mask == 255).all()


def test_zoom_actions_fit_and_actual_size(canvas, qtbot):
    canvas.actual_size()
    assert canvas.zoom == 1.0
    canvas.zoom_in()
    assert canvas.zoom == pytest.approx(1.25)
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom == pytest.approx(0.8)
    canvas.fit_to_window()
    vp = canvas.viewport()
    assert canvas.zoom == pytest.approx(min(vp.width() / 300, vp.height() / 200))
    canvas.resize(640, 480)  # fit mode follows the window size
    qtbot.waitUntil(lambda: canvas.zoom == pytest.approx(min(vp.width() / 300, vp.height() / 200)), timeout=1000)


def test_cursor_moved_reports_image_pixel(canvas, qtbot):
    canvas.set_zoom(2.0)
    vp = canvas.viewport()
    with qtbot.waitSignal(canvas.cursorMoved, timeout=1000) as blocker:
        QTest.mouseMove(vp, canvas.image_to_view(140.5, 95.5))
    assert blocker.args == [140, 95]
    canvas.set_zoom(0.5)
    outside = canvas.image_to_view(-10, -10)
    with qtbot.waitSignal(canvas.cursorMoved, timeout=1000) as blocker:
        QTest.mouseMove(vp, outside)
    assert blocker.args == [-1, -1]


def test_mask_overlay_opacity_and_visibility(qtbot):
    mask = np.full((200, 300), 255, np.uint8)
    mask[50:150, 100:200] = 1  # red class
    canvas = make_canvas(qtbot, np.full((200, 300, 3), 128, np.uint8), mask)
    canvas.set_mask_opacity(1.0)
    assert color_at(canvas, 150, 100) == (255, 0, 0)
    assert color_at(canvas, 20, 20) == (128, 128, 128)  # 255 = unlabeled is transparent
    canvas.set_mask_opacity(0.5)
    r, g, b = color_at(canvas, 150, 100)
    assert 180 <= r <= 200 and 56 <= g <= 72 and g == b
    canvas.set_mask_visible(False)
    assert color_at(canvas, 150, 100) == (128, 128, 128)
    assert canvas.mask_visible is False and canvas.mask_opacity == 0.5


def test_prediction_overlay_shown_with_own_opacity_and_visibility(canvas):
    pred = np.full((200, 300), 255, np.uint8)
    pred[:, :150] = 2  # green class on the left half
    canvas.set_prediction(pred)
    canvas.set_prediction_opacity(1.0)
    assert canvas.has_prediction
    assert color_at(canvas, 50, 100) == (0, 255, 0)
    assert color_at(canvas, 250, 100) == (128, 128, 128)
    canvas.set_prediction_visible(False)
    assert color_at(canvas, 50, 100) == (128, 128, 128)
    canvas.set_prediction_visible(True)
    canvas.set_prediction(None)
    assert color_at(canvas, 50, 100) == (128, 128, 128) and not canvas.has_prediction


def test_prediction_low_confidence_is_dimmed(canvas):
    pred = np.full((200, 300), 3, np.uint8)  # blue everywhere
    conf = np.ones((200, 300), np.float32)
    conf[:, 150:] = 0.1
    canvas.set_prediction(pred, conf)
    canvas.set_prediction_opacity(1.0)
    sure, unsure = color_at(canvas, 50, 100), color_at(canvas, 250, 100)
    assert sure == (0, 0, 255)
    assert unsure[2] < 255 and unsure[0] > 0  # blended with the grey image


def test_mask_drawn_over_prediction(canvas):
    pred = np.full((200, 300), 2, np.uint8)
    canvas.set_prediction(pred)
    canvas.set_prediction_opacity(1.0)
    canvas.set_mask_opacity(1.0)
    canvas.document().replace(np.ones((200, 300), np.uint8))
    assert color_at(canvas, 100, 100) == (255, 0, 0)


def test_crisp_pixels_when_zoomed_in(qtbot):
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[::2, ::2] = 255  # one white pixel in every 2x2 block
    canvas = make_canvas(qtbot, rgb)
    canvas.set_zoom(16.0)
    canvas.centerOn(20, 20)
    img = canvas.grab().toImage()
    white = canvas.image_to_view(20, 20)  # top-left corner of white pixel (20, 20)
    for dx, dy in ((1, 1), (8, 8), (14, 14), (1, 14)):
        assert img.pixelColor(white + QPoint(dx, dy)).red() == 255
    for dx, dy in ((17, 1), (24, 8), (1, 17), (17, 17)):
        assert img.pixelColor(white + QPoint(dx, dy)).red() == 0  # no smoothing into neighbours


def test_brush_cursor_circle_follows_size_and_zoom(canvas, qtbot):
    canvas.set_zoom(4.0)
    canvas.brush_size = 10
    centre = canvas.image_to_view(150, 100)
    QTest.mouseMove(canvas.viewport(), centre)
    img = canvas.grab().toImage()
    radius = 10 / 2 * canvas.zoom  # 20 screen px
    on_circle = [img.pixelColor(centre + QPoint(int(radius) + d, 0)).red() for d in (-1, 0, 1)]
    assert max(on_circle) == 255  # white outline on the grey image
    assert img.pixelColor(centre + QPoint(int(radius) // 2, 0)).red() == 128  # inside untouched
    canvas.set_tool("fill")
    img = canvas.grab().toImage()
    assert max(img.pixelColor(centre + QPoint(int(radius) + d, 0)).red() for d in (-1, 0, 1)) == 128


def test_set_image_rejects_mismatched_mask_and_clears(canvas):
    rgb = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="differs"):
        canvas.set_image(LoadedImage(Path("a.png"), rgb, rgb, "RGB"), MaskDocument(np.zeros((5, 5), np.uint8)))
    canvas.set_image(None, None)
    assert canvas.image() is None and canvas.document() is None
    assert canvas.grab().toImage().pixelColor(QPoint(5, 5)).red() < 100  # background only


def test_same_image_keeps_view_new_image_is_fitted(canvas):
    image = canvas.image()
    canvas.set_zoom(3.0)
    canvas.set_image(image, MaskDocument(np.full((200, 300), 1, np.uint8)))
    assert canvas.zoom == 3.0 and canvas.document().mask[0, 0] == 1
    rgb = np.zeros((50, 50, 3), np.uint8)
    canvas.set_image(LoadedImage(Path("b.png"), rgb, rgb, "RGB"), MaskDocument(np.zeros((50, 50), np.uint8)))
    vp = canvas.viewport()
    assert canvas.zoom == pytest.approx(min(vp.width(), vp.height()) / 50)


def test_image_edges_can_be_scrolled_into_view_with_a_margin(canvas):
    canvas.set_zoom(4.0)
    canvas.centerOn(-1000, -1000)  # as far up-left as it goes
    corner = canvas.image_to_view(0, 0)
    assert 24 <= corner.x() <= 60 and 24 <= corner.y() <= 60
    canvas.centerOn(5000, 5000)
    far = canvas.image_to_view(300, 200)
    vp = canvas.viewport()
    assert 24 <= vp.width() - far.x() <= 60 and 24 <= vp.height() - far.y() <= 60


def test_zoomed_out_image_is_area_averaged(qtbot):
    rgb = np.zeros((400, 600, 3), np.uint8)
    rgb[:, ::4] = 255  # 1 white in 4 columns: averaged a dark grey, point-sampled black or white
    canvas = make_canvas(qtbot, rgb)
    canvas.set_zoom(0.25)
    img = canvas.grab().toImage()
    for x in range(280, 320, 4):
        c = img.pixelColor(canvas.image_to_view(x + 2, 200))
        assert 40 <= c.red() <= 90 and c.red() == c.green() == c.blue()


def test_pixel_grid_at_very_high_zoom(canvas):
    canvas.set_zoom(32.0)
    canvas.centerOn(150, 100)
    img = canvas.grab().toImage()
    corner = canvas.image_to_view(150, 100)
    inside = img.pixelColor(corner + QPoint(16, 16)).red()
    on_line = max(img.pixelColor(corner + QPoint(d, 16)).red() for d in (-1, 0, 1))
    assert inside == 128 and on_line > 128
    canvas.set_zoom(8.0)
    img = canvas.grab().toImage()
    corner = canvas.image_to_view(150, 100)
    assert max(img.pixelColor(corner + QPoint(d, 4)).red() for d in (-1, 0, 1)) == 128
