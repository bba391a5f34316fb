"""The main window driven like a user: shortcuts, painting, undo across images, prediction, status bar."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtCore import QPoint

from segstudio.core.classes import IGNORE_INDEX


def test_window_has_docks_menus_and_first_image(main_window):
    w = main_window
    assert w.current_image_id == "sample_01.jpg"
    assert w.browser_dock.isVisible() and w.classes_dock.isVisible()
    assert w.training_dock is not None
    for name in ("File", "Edit", "View", "Tools", "Model", "Help"):
        assert w.menu(name).title().replace("&", "") == name
    assert w.canvas.document() is w.current_document()
    assert w.current_document().shape == (64, 64)


def test_a_d_and_page_keys_switch_images(main_window, qtbot):
    w = main_window
    w.canvas.setFocus()
    with qtbot.waitSignal(w.currentImageChanged, timeout=2000) as blocker:
        QTest.keyClick(w.canvas, Qt.Key.Key_D)
    assert blocker.args == ["sample_02.jpg"]
    QTest.keyClick(w.canvas, Qt.Key.Key_PageDown)
    assert w.current_image_id == "sample_03.jpg"
    QTest.keyClick(w.canvas, Qt.Key.Key_A)
    QTest.keyClick(w.canvas, Qt.Key.Key_PageUp)
    assert w.current_image_id == "sample_01.jpg"
    QTest.keyClick(w.canvas, Qt.Key.Key_A)  # already first: stays
    assert w.current_image_id == "sample_01.jpg"


def test_paint_then_ctrl_z_undoes_one_stroke(main_window, stroke, qtbot):
    w = main_window
    w.show_image("sample_05.jpg")  # unlabeled image
    w.select_class(2)
    w.canvas.brush_size = 4
    before = w.current_document().mask.copy()
    assert (before == IGNORE_INDEX).all()
    with qtbot.waitSignal(w.canvas.editFinished, timeout=2000):
        stroke(w, [(10, 30), (50, 30)])
    assert w.current_document().mask[30, 30] == 2
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(w.current_document().mask, before)
    QTest.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.current_document().mask[30, 30] == 2
    QTest.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(w.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert w.current_document().mask[30, 30] == 2


def test_undo_history_survives_switching_images(main_window, stroke, qtbot):
    w = main_window
    w.show_image("sample_04.jpg")
    w.select_class(1)
    w.canvas.brush_size = 3
    with qtbot.waitSignal(w.canvas.editFinished, timeout=2000):
        stroke(w, [(5, 5), (40, 5)])
    doc = w.current_document()
    w.next_image()
    w.previous_image()
    assert w.current_image_id == "sample_04.jpg"
    assert w.current_document() is doc and doc.can_undo
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (w.current_document().mask == IGNORE_INDEX).all()


def test_tool_shortcuts_and_number_keys(main_window):
    w = main_window
    w.canvas.setFocus()
    for key, tool in ((Qt.Key.Key_E, "eraser"), (Qt.Key.Key_P, "polygon"), (Qt.Key.Key_F, "fill"),
                      (Qt.Key.Key_W, "wand"), (Qt.Key.Key_I, "picker"), (Qt.Key.Key_B, "brush")):
        QTest.keyClick(w.canvas, key)
        assert w.canvas.tool == tool
        assert w.actions_by_name[f"tool_{tool}"].isChecked()
    QTest.keyClick(w.canvas, Qt.Key.Key_3)  # the key is the class id
    assert w.class_panel.current_class() == 3 and w.canvas.current_class == 3
    QTest.keyClick(w.canvas, Qt.Key.Key_0)
    assert w.canvas.current_class == 0
    QTest.keyClick(w.canvas, Qt.Key.Key_9)  # only 4 classes: ignored
    assert w.canvas.current_class == 0


def test_class_list_key_and_status_bar_use_the_same_number(main_window, qtbot):
    """The list shows the class id, key N selects class N, and the status bar names it 'Class N: name'."""
    w = main_window
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_2)
    item = w.class_panel.list.item(2)
    assert item.text().split()[0] == "2" and "crystal" in item.text()
    assert w.status.currentMessage() == "Class 2: crystal"
    mask = w.current_document().mask
    y, x = map(int, np.argwhere(mask == 1)[-1])
    QTest.mouseMove(w.canvas.viewport(), w.canvas.image_to_view(x + 0.5, y + 0.5))
    qtbot.waitUntil(lambda: w.status.class_label.text() == "Class 1: cell", timeout=2000)
    assert w.class_panel.list.item(1).text().split()[0] == "1"


def test_zoom_by_wheel_and_shortcuts(main_window):
    w = main_window
    z0 = w.canvas.zoom
    vp = w.canvas.viewport()
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QTest.qWait(1)
    from PySide6.QtWidgets import QApplication
    QApplication.sendEvent(vp, event)
    assert w.canvas.zoom > z0
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert abs(w.canvas.zoom - 1.0) < 1e-6
    QTest.keyClick(w.canvas, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.zoom < 1.0
    assert w.status.zoom_label.text().endswith("%")


def test_status_bar_shows_position_value_and_class(main_window, qtbot):
    w = main_window
    w.show_image("sample_01.jpg")
    mask = w.current_document().mask
    y, x = map(int, np.argwhere(mask == 1)[0])
    QTest.mouseMove(w.canvas.viewport(), w.canvas.image_to_view(x + 0.5, y + 0.5))
    qtbot.waitUntil(lambda: w.status.position_label.text() == f"x {x}  y {y}", timeout=2000)
    raw = w.current_image.raw[y, x]
    assert w.status.value_label.text() == "value ({}, {}, {})".format(*map(int, raw))
    assert w.status.class_label.text() == "Class 1: cell"


def test_set_prediction_and_accept_on_unlabeled_pixels(main_window, qtbot):
    w = main_window
    w.show_image("sample_06.jpg")
    doc = w.current_document()
    doc.paint(0, 0, 10, 10, lambda v: v.fill(1))
    doc.end_edit()
    pred = np.full((64, 64), 3, np.uint8)
    w.set_prediction("sample_06.jpg", pred)
    assert w.canvas.has_prediction
    assert w.browser.model.is_predicted("sample_06.jpg")
    w.set_uncertainty("sample_06.jpg", 0.9)
    with qtbot.waitSignal(w.maskSaved, timeout=5000):
        assert w.accept_prediction("unlabeled")
    assert (doc.mask[:10, :10] == 1).all() and (doc.mask[20:, 20:] == 3).all()
    w.undo()
    assert (doc.mask[20:, 20:] == IGNORE_INDEX).all()
    assert w.accept_prediction("all")
    assert (doc.mask == 3).all()


def test_starting_the_app_does_not_import_torch(demo_project, tmp_path):
    code = (
        "import sys\n"
        "from segstudio.gui.app import create_application, create_main_window\n"
        "app = create_application()\n"
        f"w = create_main_window({str(demo_project)!r})\n"
        "w.show(); app.processEvents()\n"
        "print('TORCH', 'torch' in sys.modules, w.current_image_id)\n"
        "w.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert "TORCH False sample_01.jpg" in out.stdout, out.stderr[-2000:]


def test_status_bar_shows_original_16_bit_value(main_window, tmp_path, qtbot):
    from PIL import Image

    w = main_window
    data = (np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 60).astype(np.uint16)
    src = tmp_path / "deep.png"
    Image.fromarray(data).save(src)
    assert Image.open(src).mode.startswith("I")
    ids = w.add_images([src])
    assert ids == ["deep.png"] and w.current_image_id == "deep.png"
    w.canvas.fit_to_window()
    QTest.mouseMove(w.canvas.viewport(), w.canvas.image_to_view(20.5, 10.5))
    qtbot.waitUntil(lambda: w.status.position_label.text() == "x 20  y 10", timeout=2000)
    assert w.status.value_label.text() == f"value {int(data[10, 20])}"
    assert int(data[10, 20]) > 255
    assert w.status.class_label.text() == "unlabeled"


def test_f1_lists_the_shortcuts_without_blocking(main_window, qtbot):
    w = main_window
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(w, "shortcuts_box", None) is not None and w.shortcuts_box.isVisible(), timeout=2000)
    text = w.shortcuts_box.text()
    assert "Next Image" in text and "PgDown" in text and "Ctrl+Z" in text
    w.shortcuts_box.close()
