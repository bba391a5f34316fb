"""The model-assisted click and the magic wand's live preview, driven with the mouse on the viewport and, in
the window, the toolbar's tolerance control and the status bar."""

from __future__ import annotations

import numpy as np
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.image_io import load_image
from segstudio.core.mask_document import MaskDocument
from segstudio.core.paint_rules import PaintRules
from segstudio.gui.canvas import CanvasView

from canvas_helpers import COLORS, canvas_runner
from display_helpers import key
from tool_helpers import click, disk_canvas, hover

SHIFT = Qt.KeyboardModifier.ShiftModifier


def prediction() -> np.ndarray:
    pred = np.full((100, 120), 255, np.uint8)
    pred[10:40, 10:40] = 2
    pred[10:40, 60:90] = 2  # the same class, another component
    pred[50:80, 10:40] = 1
    pred[39, 40] = 2  # 4-connected to the first square
    pred[40, 41] = 2  # only diagonal to it: not taken
    return pred


def test_region_click_takes_exactly_the_connected_predicted_component(qtbot, tmp_path):
    canvas = disk_canvas(qtbot, tmp_path, np.full((100, 120, 3), 100, np.uint8), centre=(60, 50), zoom=1.5)
    pred = prediction()
    canvas.set_prediction(pred, None)
    canvas.set_tool("region")
    canvas.set_current_class(3)
    hover(canvas, 20, 20)
    tool = canvas._tool
    expected = np.zeros(pred.shape, bool)
    expected[10:40, 10:40] = True
    expected[39, 40] = True
    assert np.array_equal(tool.preview.region.full(pred.shape), expected)  # shown before the click
    with qtbot.waitSignal(canvas.editFinished, timeout=1000):
        click(canvas, 20, 20)
    m = canvas.document().mask
    assert np.array_equal(m == 3, expected) and (m[~expected] == 255).all()
    assert canvas.document().undo_labels == ["Predicted region"]
    click(canvas, 20, 60, modifiers=SHIFT)  # Shift: the predicted class
    assert (m[50:80, 10:40] == 1).all() and len(canvas.document().undo_labels) == 2
    canvas.region_takes_predicted_class = True  # the toolbar option ...
    click(canvas, 70, 20, modifiers=SHIFT)  # ... and Shift inverts it: the current class
    assert (m[10:40, 60:90] == 3).all()


def test_region_click_obeys_a_locked_class(qtbot, tmp_path):
    mask = np.full((100, 120), 255, np.uint8)
    mask[10:20, 10:40] = 0
    canvas = disk_canvas(qtbot, tmp_path, np.full((100, 120, 3), 100, np.uint8), mask, centre=(60, 50), zoom=1.5)
    canvas.document().rules = PaintRules(frozenset({0}))
    canvas.set_prediction(prediction(), None)
    canvas.set_tool("region")
    click(canvas, 20, 30)
    m = canvas.document().mask
    assert (m[10:20, 10:40] == 0).all() and (m[20:40, 10:40] == 1).all()


def test_wand_preview_follows_the_tolerance_and_the_click_writes_it(qtbot, tmp_path):
    ramp = np.repeat(np.repeat(np.arange(0, 250, 5, dtype=np.uint8), 2)[None, :, None], 60, 0)
    canvas = disk_canvas(qtbot, tmp_path, np.repeat(ramp, 3, 2), zoom=2.0, centre=(50, 30))  # 100 x 60, 2 px steps
    canvas.set_tool("wand")
    canvas.wand_tolerance = 10
    hover(canvas, 20, 30)  # value 50: 40..60 is within 10
    tool = canvas._tool
    assert tool.preview.region.rect == (16, 0, 26, 60)
    canvas.wand_tolerance = 30  # the preview follows at once
    assert tool.preview.region.rect == (8, 0, 34, 60)
    assert (canvas.document().mask == 255).all()
    click(canvas, 20, 30)
    m = canvas.document().mask
    assert (m[:, 8:34] == 1).all() and (m[:, :8] == 255).all() and (m[:, 34:] == 255).all()


def test_wand_on_a_multichannel_image_reads_only_a_crop_and_large_previews_run_on_the_runner(qtbot, tmp_path):
    data = np.full((1100, 1000, 2), 1000, np.uint16)
    data[400:700, 300:600, 0] = 30000  # a bright square in channel 0
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="contig")
    image = load_image(path)
    assert image.channels == 2
    canvas = CanvasView(canvas_runner())
    qtbot.addWidget(canvas)
    canvas.resize(360, 280)
    canvas.set_class_colors(COLORS)
    canvas.set_image(image, MaskDocument(np.full(image.shape, 255, np.uint8)))
    canvas.show()
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(lambda: canvas.display_settings is not None, timeout=5000)
    canvas.set_tool("wand")
    canvas.set_current_class(2)
    hover(canvas, 450, 550)
    tool = canvas._tool
    assert tool.preview_pending  # over 1 M pixels: computed on the job runner
    qtbot.waitUntil(lambda: not tool.preview_pending and tool.preview.region is not None, timeout=5000)
    assert tool.preview.region.rect == (300, 400, 600, 700)
    click(canvas, 450, 550)
    assert tool.commit_pending  # the exact region of a large image is computed off the GUI thread too
    qtbot.waitUntil(lambda: canvas.document().can_undo, timeout=5000)
    m = canvas.document().mask
    assert (m[400:700, 300:600] == 2).all() and int((m == 2).sum()) == 300 * 300
    assert image._rgb is None  # the full display composite was never made


def test_toolbar_tolerance_is_shown_for_the_wand_and_drives_its_preview(main_window, qtbot):
    w = main_window
    spin, slider = w.wand_tolerance_spin, w.wand_tolerance_slider
    assert not spin.isVisible()
    key(w.canvas, Qt.Key.Key_W)
    assert w.canvas.tool == "wand"
    qtbot.waitUntil(lambda: spin.isVisible() and slider.isVisible(), timeout=2000)  # laid out on the next turn
    assert "tolerance" in w.status.currentMessage().lower()
    w.canvas.setFocus()
    hover(w.canvas, 32, 32)
    tool = w.canvas._tool
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "0")
    QTest.keyClick(spin, Qt.Key.Key_Enter)
    assert w.canvas.wand_tolerance == 0 and slider.value() == 0
    small = tool.preview.region.area
    spin.selectAll()
    QTest.keyClicks(spin, "200")
    assert w.canvas.wand_tolerance == 200 and slider.value() == 200
    assert tool.preview.region.area > small  # the preview followed the tolerance
    area = tool.preview.region.area
    region = tool.preview.region.full((64, 64))
    w.canvas.setFocus()
    click(w.canvas, 32, 32)
    doc = w.current_document()
    assert int((doc.mask[region] == w.current_class()).sum()) == area
    from segstudio.gui import settings as app_settings
    from segstudio.gui.window_settings import restore_tool_settings, save_window_settings

    save_window_settings(w)  # as on close; the next window starts with it
    assert app_settings.read_value("tools/wand_tolerance", 0, int) == 200
    w.canvas.wand_tolerance = 5
    restore_tool_settings(w)
    assert spin.value() == 200 and w.canvas.wand_tolerance == 200
    key(w.canvas, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: not spin.isVisible(), timeout=2000)


def test_region_tool_without_a_prediction_says_so_in_the_status_bar(main_window, qtbot):
    w = main_window
    key(w.canvas, Qt.Key.Key_R)
    assert w.canvas.tool == "region"
    qtbot.waitUntil(w.region_class_check.isVisible, timeout=2000)
    before = w.current_document().mask.copy()
    click(w.canvas, 20, 20)
    assert "No prediction for this image" in w.status.currentMessage()
    assert np.array_equal(w.current_document().mask, before)
    key(w.canvas, Qt.Key.Key_G)
    assert w.canvas.tool == "box" and w.actions_by_name["tool_box"].isChecked()
    assert "GrabCut" in w.status.currentMessage()
    from segstudio.gui.main_actions import shortcut_table

    rows = dict(shortcut_table(w))  # the shortcuts dialog lists the new tools and their canvas keys
    assert rows["Box (GrabCut)"] == "G" and rows["Predicted Region"] == "R"
    assert "click an edge" in rows["Polygon: move / insert / delete a point"]
    tools_menu = [a.text() for a in w.menus["Tools"].actions()]
    assert "Box (GrabCut)" in tools_menu and "Predicted Region" in tools_menu
