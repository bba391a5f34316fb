"""Brightness, contrast, gamma, colour map and channels, driven in the real window on TIFFs read from disk:
what the viewport shows changes, the data the model trains on never does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from display_helpers import click, deep_project, four_channel_project, key, open_window, screen_color
from segstudio.core.display import colormap_rgb
from segstudio.core.image_io import load_image


@pytest.fixture
def deep(qtbot, tmp_path):
    return open_window(qtbot, deep_project(tmp_path / "deep"))


@pytest.fixture
def four(qtbot, tmp_path):
    return open_window(qtbot, four_channel_project(tmp_path / "four"))


def _gray(c) -> int:
    assert abs(c[0] - c[1]) <= 1 and abs(c[1] - c[2]) <= 1, c
    return c[0]


def test_contrast_limits_dragged_on_the_histogram_change_the_view_not_the_data(deep, qtbot):
    w = deep
    canvas, panel = w.canvas, w.layers_panel.display
    before = np.array(w.current_image.data, copy=True)
    ch = w.session.view.display.channels[0]
    assert ch.lo == pytest.approx(1000, abs=30) and ch.hi == 8000  # automatic: percentiles
    dim = _gray(screen_color(canvas, 127.5, 10.5))  # value 3000
    assert 60 <= dim <= 85
    hist = panel.histogram
    y = hist.height() // 2
    QTest.mousePress(hist, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(round(hist.x_of(8000)), y))
    QTest.mouseMove(hist, QPoint(round(hist.x_of(3000)), y))
    QTest.mouseRelease(hist, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(round(hist.x_of(3000)), y))
    hi = w.session.view.display.channels[0].hi
    assert hi == pytest.approx(3000, rel=0.03) and panel.hi_spin.value() == pytest.approx(hi, abs=1)
    assert _gray(screen_color(canvas, 127.5, 10.5)) >= 245  # 3000 is bright now
    assert _gray(screen_color(canvas, 70.5, 50.5)) == 255  # the square saturates
    assert _gray(screen_color(canvas, 0.5, 10.5)) <= 5
    assert np.array_equal(w.current_image.data, before)  # what the model sees is untouched
    assert np.array_equal(load_image(w.session.image_path("deep.tif")).data, before)
    assert w.session.view.display_kept


def test_limits_set_by_keyboard_carry_over_to_the_next_image_until_reset(deep, qtbot):
    w = deep
    canvas, panel = w.canvas, w.layers_panel.display
    hist = panel.histogram
    start = w.session.view.display.channels[0].hi
    lo_range, hi_range = hist.value_range()
    key(hist, Qt.Key.Key_Left)  # upper limit down by 1 % of the range
    hi = w.session.view.display.channels[0].hi
    assert hi == pytest.approx(start - 0.01 * (hi_range - lo_range))
    key(hist, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # lower limit up
    lo = w.session.view.display.channels[0].lo
    assert lo > 900 and w.session.view.display_kept
    key(canvas, Qt.Key.Key_D)  # the next image keeps the user's limits
    qtbot.waitUntil(lambda: w.current_image_id == "deeper.tif" and canvas.display_settings is not None, timeout=3000)
    ch = w.session.view.display.channels[0]
    assert (ch.lo, ch.hi) == (lo, hi) and panel.hi_spin.value() == pytest.approx(hi, abs=1)
    click(panel.reset_button)  # automatic again, for this image
    assert w.session.view.display.channels[0].hi == pytest.approx(6000, abs=40)
    key(canvas, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: w.current_image_id == "deep.tif", timeout=3000)
    assert w.session.view.display.channels[0].hi == 8000


def test_gamma_colormap_auto_and_reset(deep, qtbot):
    w = deep
    canvas, panel = w.canvas, w.layers_panel.display
    middle = _gray(screen_color(canvas, 100.5, 10.5))
    panel.gamma_spin.setFocus()
    panel.gamma_spin.selectAll()
    QTest.keyClicks(panel.gamma_spin, "0.5")
    QTest.keyClick(panel.gamma_spin, Qt.Key.Key_Return)
    assert w.session.view.display.channels[0].gamma == pytest.approx(0.5)
    brighter = _gray(screen_color(canvas, 100.5, 10.5))
    assert brighter > middle + 40
    assert panel.colormap_combo.isEnabled()  # a single-channel image
    key(panel.colormap_combo, Qt.Key.Key_Down)  # Viridis
    assert w.session.view.display.channels[0].colormap == "viridis"
    assert screen_color(canvas, 70.5, 50.5) == tuple(int(v) for v in colormap_rgb("viridis")[255])
    panel.lo_spin.setFocus()
    panel.lo_spin.selectAll()
    QTest.keyClicks(panel.lo_spin, "2000")
    QTest.keyClick(panel.lo_spin, Qt.Key.Key_Return)
    assert w.session.view.display.channels[0].lo == 2000
    assert screen_color(canvas, 10.5, 10.5) == tuple(int(v) for v in colormap_rgb("viridis")[0])
    click(panel.auto_button)
    assert w.session.view.display.channels[0].lo == pytest.approx(1000, abs=30)
    click(panel.reset_button)
    ch = w.session.view.display.channels[0]
    assert (ch.gamma, ch.colormap) == (1.0, "") and not w.session.view.display_kept
    assert _gray(screen_color(canvas, 100.5, 10.5)) == middle


def test_four_channels_composite_channel_toggles_single_view_and_status_bar(four, qtbot):
    w = four
    canvas, panel = w.canvas, w.layers_panel.display
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    assert [screen_color(canvas, c * 20 + 10.5, 30.5) for c in range(4)] == colors  # each band in its colour
    assert panel.channel_list.isVisible() and panel.channel_list.count() == 4
    lst = panel.channel_list
    rect = lst.visualItemRect(lst.item(0))
    click(lst.viewport(), QPoint(rect.left() + 10, rect.center().y()))  # untick C1 (its check box)
    assert not w.session.view.display.channels[0].visible
    assert screen_color(canvas, 10.5, 30.5) == (0, 0, 0)
    lst.setFocus()
    lst.setCurrentRow(0)
    QTest.keyClick(lst, Qt.Key.Key_Space)  # and back, from the keyboard
    assert w.session.view.display.channels[0].visible
    key(panel.view_combo, Qt.Key.Key_End)  # "C4 only": one channel in gray
    assert w.session.view.solo == 3
    assert screen_color(canvas, 70.5, 30.5) == (255, 255, 255) and screen_color(canvas, 30.5, 30.5) == (0, 0, 0)
    QTest.mouseMove(canvas.viewport(), canvas.image_to_view(0.5, 0.5))
    qtbot.waitUntil(lambda: w.status.position_label.text() == "x 0  y 0", timeout=2000)
    assert w.status.value_label.text() == "C1 11  C2 22  C3 33  C4 44"


def test_channel_colour_and_names_are_the_projects_and_the_thumbnail_uses_the_same_composite(four, qtbot):
    from segstudio.gui.thumbnails import make_thumbnail

    w = four
    canvas, panel = w.canvas, w.layers_panel.display
    w.questions.color = lambda current: "#ff8800"
    lst = panel.channel_list
    rect = lst.visualItemRect(lst.item(1))
    click(lst.viewport(), QPoint(rect.center().x(), rect.center().y()))  # select C2
    click(panel.color_button)
    assert screen_color(canvas, 30.5, 30.5) == (255, 136, 0)
    stored = json.loads((w.project.root / "segstudio.json").read_text())["channels"]["channels"]
    assert stored[1]["color"] == "#ff8800"
    thumb = make_thumbnail(w.session.image_path("four.tif"), project=w.project)
    c = thumb.pixelColor(round(30 * thumb.width() / 80), thumb.height() // 2)
    assert (c.red(), c.green(), c.blue()) == (255, 136, 0)
    click(panel.channels_button)
    dialog = panel.channels_dialog
    qtbot.waitExposed(dialog)
    dialog.names[1].selectAll()
    QTest.keyClicks(dialog.names[1], "GFP")
    dialog.norms[3].setCurrentIndex(dialog.norms[3].findData("range"))
    dialog.lows[3].setValue(0)
    dialog.highs[3].setValue(5000)
    click(dialog.buttons.button(dialog.buttons.StandardButton.Ok))
    spec = w.session.channels()
    assert spec.names == ["C1", "GFP", "C3", "C4"] and spec.channels[3].normalization == "range"
    assert spec.channels[3].high == 5000 and lst.item(1).text() == "GFP"
    QTest.mouseMove(canvas.viewport(), canvas.image_to_view(5.5, 5.5))
    QTest.mouseMove(canvas.viewport(), canvas.image_to_view(0.5, 0.5))
    qtbot.waitUntil(lambda: w.status.position_label.text() == "x 0  y 0", timeout=2000)
    assert w.status.value_label.text() == "C1 11  GFP 22  C3 33  C4 44"


def test_a_bad_channel_description_is_refused_in_the_dialog(four, qtbot):
    w = four
    panel = w.layers_panel.display
    click(panel.channels_button)
    dialog = panel.channels_dialog
    dialog.names[2].setText("C1")  # duplicate name
    click(dialog.buttons.button(dialog.buttons.StandardButton.Ok))
    assert dialog.isVisible() and "unique" in dialog.error.text()
    assert w.session.channels().names == ["C1", "C2", "C3", "C4"]
    dialog.reject()
