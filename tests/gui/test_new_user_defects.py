"""The defects a new user hit (issue #11), each driven through the real window as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.mask_io import read_mask
from segstudio.core.project import Project
from test_training_panel import tiny_panel


def click_pixel(window, x: int, y: int, button=Qt.MouseButton.LeftButton) -> None:
    QTest.mouseClick(window.canvas.viewport(), button, Qt.KeyboardModifier.NoModifier,
                     window.canvas.image_to_view(x + 0.5, y + 0.5))


@pytest.fixture
def second_project(tmp_path):
    """Project B: fewer classes, no model, its own images."""
    root = tmp_path / "project_b"
    Project.create(root, ["background", "bottle"])
    for i in range(3):
        Image.fromarray(np.full((48, 40, 3), 60 + 40 * i, np.uint8)).save(root / "images" / f"shot_{i}.png")
    return root


def test_opening_another_project_drops_the_old_projects_model_state(main_window, second_project, qtbot):
    """1. B's first image showed A's prediction, the browser counted it as predicted, the panel kept its status,
    and Accept wrote A's class ids into B's masks."""
    w, panel = main_window, main_window.training_panel
    for image_id in w.session.image_ids:
        w.set_prediction(image_id, np.full((64, 64), 3, np.uint8))
    w.session.set_model_status("done — Predicted 6 images")
    assert panel.status_label.text() == "done — Predicted 6 images" and w.canvas.has_prediction
    assert w.open_project(second_project)
    assert w.current_image_id == "shot_0.png"
    assert not w.canvas.has_prediction and w.session.prediction() is None
    assert w.browser.model.counts()["predicted"] == 0
    assert "Predicted" not in panel.status_label.text()
    QTest.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert "No prediction to accept" in panel.status_label.text()
    assert not (second_project / "masks").exists()  # nothing written into B


def test_accept_refuses_a_prediction_with_class_ids_the_project_lacks(main_window, qtbot):
    w, panel = main_window, main_window.training_panel
    w.show_image("sample_05.jpg")
    w.set_prediction("sample_05.jpg", np.full((64, 64), 9, np.uint8))
    panel.accept_mode_combo.setCurrentIndex(panel.accept_mode_combo.findData("all"))
    QTest.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert "class id(s) 9" in w.last_error and "4 classes" in w.last_error
    assert (w.current_document().mask == IGNORE_INDEX).all() and not w.current_document().can_undo


def test_magic_wand_click_on_an_image_loaded_from_disk(main_window, qtbot):
    """2. The wand threw on every click on an image loaded from disk (read-only array)."""
    w = main_window
    w.show_image("sample_05.jpg")
    assert not w.current_image.rgb.flags.writeable  # what the loader gives
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_W)
    w.select_class(2)
    with qtbot.waitSignal(w.canvas.editFinished, timeout=2000):
        click_pixel(w, 32, 32)
    assert (w.current_document().mask == 2).any() and w.last_error is None


def test_light_theme_disabled_controls_look_disabled(main_window):
    """3. Stop while idle, Epochs while live training, Model > Stop training looked enabled in the light theme."""
    from segstudio.gui.theme import dark_palette, light_palette

    for palette in (light_palette(), dark_palette()):
        for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
            active = palette.color(QPalette.ColorGroup.Active, role)
            disabled = palette.color(QPalette.ColorGroup.Disabled, role)
            assert abs(active.lightness() - disabled.lightness()) >= 60, role
    panel = main_window.training_panel
    assert not panel.stop_button.isEnabled()
    assert not main_window.actions_by_name["stop_training"].isEnabled()
    panel.live.set_checked(True)  # shown ticked without starting a training (ticking it starts one)
    assert not panel.form.epochs_spin.isEnabled()
    panel.live.set_checked(False)
    app = QApplication.instance()
    old = app.palette()
    try:
        app.setPalette(light_palette())
        enabled_text = panel.train_button.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
        shown = panel.stop_button.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
        assert abs(QColor(enabled_text).lightness() - QColor(shown).lightness()) >= 60
    finally:
        app.setPalette(old)


def test_window_title_marks_unsaved_edits_once(main_window, stroke, qtbot):
    """4. The title doubled ("… • — segstudio" after "— segstudio") whenever there were unsaved edits."""
    w = main_window
    w.show_image("sample_05.jpg")
    assert w.windowTitle() == "sample_05.jpg — project — segstudio[*]" and not w.isWindowModified()
    for _ in range(3):
        stroke(w, [(5, 5), (20, 5)])
    assert w.isWindowModified() and w.windowTitle().count("segstudio") == 1 and "•" not in w.windowTitle()
    assert w.save_now()
    assert not w.isWindowModified()
    w.next_image()
    assert w.windowTitle() == "sample_06.jpg — project — segstudio[*]"


def test_status_bar_readout_follows_image_changes_and_edits_under_a_still_mouse(main_window, qtbot):
    """5. The pixel readout showed the previous image's values and class until the mouse moved."""
    w = main_window
    w.show_image("sample_01.jpg")
    mask = w.current_document().mask
    y, x = map(int, np.argwhere(mask == 1)[len(np.argwhere(mask == 1)) // 2])
    QTest.mouseMove(w.canvas.viewport(), w.canvas.image_to_view(x + 0.5, y + 0.5))
    qtbot.waitUntil(lambda: w.status.class_label.text() == "Class 1: cell", timeout=2000)
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_D)  # sample_02 has no cell at this pixel (or another value)
    expected = w.current_document().mask[y, x]
    raw = w.current_image.raw[y, x]
    assert w.status.value_label.text() == "value ({}, {}, {})".format(*map(int, raw))
    assert w.status.class_label.text() == ("unlabeled" if expected == IGNORE_INDEX else
                                           f"Class {expected}: {w.project.classes[expected].name}")
    QTest.keyClick(w.canvas, Qt.Key.Key_F)  # fill under the still mouse
    w.select_class(3)
    click_pixel(w, x, y)
    assert w.current_document().mask[y, x] == 3 and w.status.class_label.text() == "Class 3: fibre"


def test_an_accepted_prediction_is_not_drawn_over_its_own_mask(main_window, qtbot):
    """6. After Accept, the mask (50 %) sat over the same-coloured prediction (50 %): the image went 75 % dark."""
    w = main_window
    w.show_image("sample_05.jpg")
    w.canvas.set_mask_opacity(0.5)
    w.canvas.set_prediction_opacity(0.5)
    pred = np.zeros((64, 64), np.uint8)  # class 0: black, the worst case
    w.set_prediction("sample_05.jpg", pred)
    x, y = 32, 32
    point = w.canvas.image_to_view(x + 0.5, y + 0.5)

    def shown() -> QColor:
        w.canvas.viewport().repaint()
        return w.canvas.viewport().grab().toImage().pixelColor(point)

    before = shown()  # unlabeled: the prediction shows at 50 %
    assert w.accept_prediction("all")
    after = shown()  # labeled now: only the mask at 50 %, the prediction is not drawn under it
    photo = QColor(*map(int, w.current_image.rgb[y, x]))
    assert abs(after.lightness() - photo.lightness() * 0.5) <= 6
    assert abs(before.lightness() - after.lightness()) <= 6
    QTest.keyClick(w.canvas, Qt.Key.Key_M)  # hide the mask: the whole prediction shows again
    assert abs(shown().lightness() - photo.lightness() * 0.5) <= 6


def test_train_cannot_be_clicked_twice(main_window, qtbot):
    """9. Train stayed enabled during training; a second click did nothing and said nothing."""
    panel = tiny_panel(main_window, epochs=1000, steps_per_epoch=100000)
    QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.loss_plot.step_points()[0]) >= 1, timeout=60000)
    assert not panel.train_button.isEnabled() and panel.train_button.text() == "Training…"
    assert not main_window.actions_by_name["train"].isEnabled()
    main_window.actions_by_name["train"].trigger()  # Ctrl+Shift+T path
    assert not panel.start_training() and "already running" in panel.status_label.text()
    with qtbot.waitSignal(panel.trainingFinished, timeout=10000):
        QTest.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert panel.train_button.isEnabled() and panel.train_button.text() == "Train"


def test_curves_legends_stay_off_the_curves_and_one_epoch_has_a_sane_axis(main_window, qtbot):
    """10. Legends sat on the curves; with one epoch the validation axis spanned -5…10."""
    import pyqtgraph as pg

    plot = main_window.training_panel.loss_plot
    main_window.training_panel.tabs.setCurrentWidget(plot)
    qtbot.waitUntil(lambda: plot.graphics is not None, timeout=2000)
    plot.add_steps([(0, 1.2), (1, 1.0)])
    plot.add_epoch(1, 0.9, 0.8, 0.4)
    layout = plot.graphics.ci
    assert isinstance(layout.getItem(0, 0), pg.LegendItem) and isinstance(layout.getItem(2, 0), pg.LegendItem)
    assert layout.getItem(1, 0) is plot.step_plot and layout.getItem(3, 0) is plot.epoch_plot
    (x0, x1), (y0, y1) = plot.epoch_plot.viewRange()
    assert x0 == pytest.approx(0.5) and x1 == pytest.approx(1.5)
    assert 0.0 <= y0 < 0.8 and 0.9 < y1 < 1.5


def test_small_dialogs_are_wide_enough_for_their_titles(main_window, qtbot):
    """12. Small dialogs cut their titles."""
    seen = {}

    def inspect_and_close() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, inspect_and_close)
            return
        seen["width"] = dialog.width()
        seen["title"] = dialog.windowTitle()
        seen["needed"] = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) + 120
        dialog.reject() if isinstance(dialog, QDialog) else dialog.close()

    QTimer.singleShot(20, inspect_and_close)
    assert main_window.questions.class_name("Rename class", "cell") is None
    assert seen["title"] == "Rename class" and seen["width"] >= max(420, seen["needed"])


LOGGED_SESSION = textwrap.dedent(r"""
    import sys
    from PySide6.QtCore import QTimer
    from segstudio.logging_setup import setup_logging
    setup_logging()
    from segstudio.gui.app import create_application, create_main_window
    app = create_application([])
    w = create_main_window(sys.argv[1])
    w.show_error_dialogs = False
    w.show(); app.processEvents()
    w.errors.report("cannot read image broken.png: the file is truncated")
    def buggy_slot():
        raise ZeroDivisionError("a bug in a slot")
    QTimer.singleShot(0, buggy_slot)
    for _ in range(20):
        app.processEvents()
    print("SHOWN", w.last_error, flush=True)
    w.close()
""")


def test_the_log_file_holds_what_happened_and_every_error_with_its_traceback(demo_project, tmp_path):
    """11. The log file held only "starting" lines: no project opened, no tracebacks."""
    log_dir = tmp_path / "logs"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SEGSTUDIO_LOG_DIR": str(log_dir),
           "SEGSTUDIO_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    out = subprocess.run([sys.executable, "-c", LOGGED_SESSION, str(demo_project)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SHOWN Unexpected error: ZeroDivisionError: a bug in a slot" in out.stdout  # shown in the window too
    log = (log_dir / "segstudio.log").read_text()
    assert f"opened project {demo_project}" in log
    assert "cannot read image broken.png: the file is truncated" in log
    assert "ZeroDivisionError: a bug in a slot" in log and "Traceback (most recent call last)" in log
    assert "in buggy_slot" in log
    assert f"closed project {demo_project}" in log


def test_training_start_and_end_reach_the_log(main_window, qtbot, caplog):
    panel = tiny_panel(main_window, epochs=1, steps_per_epoch=2)
    with caplog.at_level("INFO", logger="segstudio"):
        with qtbot.waitSignal(panel.trainingFinished, timeout=60000):
            QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    text = caplog.text
    assert f"training unet on {main_window.project.root}" in text and "training ended (completed)" in text


def test_a_saved_mask_is_counted_in_words_that_fit_its_number():
    """12. "1 masks saved meanwhile"."""
    from segstudio.gui.training.panel import plural

    assert plural(1, "mask") == "1 mask" and plural(2, "mask") == "2 masks" and plural(0, "image") == "0 images"


def test_accepted_and_painted_masks_on_disk_hold_only_project_class_ids(main_window, second_project, stroke):
    """After the fixes, painting in B writes only B's class ids."""
    w = main_window
    assert w.open_project(second_project)
    w.select_class(1)
    stroke(w, [(5, 5), (30, 5)])
    assert w.save_now()
    saved = read_mask(second_project / "masks" / "shot_0.png")
    assert set(np.unique(saved)) <= {1, IGNORE_INDEX}


def test_an_image_with_other_channels_than_the_project_is_refused_with_its_name(main_window, tmp_path):
    """#13: a 4-channel 16-bit TIFF dropped into an RGB project is one clear message, never a silent conversion."""
    import tifffile

    src = tmp_path / "four.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(0, 4000, (4, 32, 40), dtype=np.uint16),
                     photometric="minisblack", planarconfig="separate")
    w = main_window
    (image_id,) = w.add_images([src])
    assert w.current_image_id == image_id and w.current_image.channels == 4
    assert w.current_document() is None  # nothing to paint on: it cannot be trained on here
    assert "four.tif" in w.last_error and "4 channels" in w.last_error
