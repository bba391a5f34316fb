"""Live training from the window (issues #14, #15): the Live training box starts and stops it, a stroke
painted with the mouse reaches the running trainer mid-epoch with its box, previews of the image on
screen only, switching images points the trainer's previews at the new one."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.image_io import load_image
from segstudio.core.mask_io import read_mask
from segstudio.gui.autosave import PROMPT_DEBOUNCE_MS

# a tiny CPU model; many steps per epoch so that no epoch ends while a test runs
TINY = {"model_args": {"width": 4, "depth": 2}, "steps_per_epoch": 100000, "device": "cpu", "pretrained": False,
        "channels_last": False}
START_TIMEOUT = 60000


@pytest.fixture
def live_panel(main_window):
    panel = main_window.training_panel
    panel.confirm_close = False
    form = panel.form
    form.crop_spin.setValue(32)
    form.batch_spin.setValue(2)
    form.device_combo.setCurrentIndex(form.device_combo.findData("cpu"))
    form.extra_config = dict(TINY)
    yield panel
    if panel.is_training():
        panel.stop_training()


def click(widget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick_live(qtbot, panel) -> None:
    """Tick Live training with the mouse and wait for the first training step."""
    with qtbot.waitSignal(panel.runningChanged, timeout=5000, check_params_cb=bool):
        click(panel.live_check)
    with qtbot.waitSignal(panel.controller.steps, timeout=START_TIMEOUT):
        pass


def unlabeled_id(window) -> str:
    project = window.project
    return next(project.image_id(p) for p in project.list_images() if not project.has_mask(p))


def test_ticking_live_training_starts_it_and_unticking_stops_it(qtbot, main_window, live_panel):
    panel, window = live_panel, main_window
    assert not panel.live_check.isChecked() and "until you untick" in panel.live_check.toolTip()
    tick_live(qtbot, panel)
    assert panel.is_live() and panel.live_check.isChecked() and panel.live_check.isEnabled()
    assert not panel.train_button.isEnabled() and panel.train_button.text() == "Training live…"
    assert panel.stop_button.isEnabled() and not panel.form.isEnabled() and not panel.form.epochs_spin.isEnabled()
    assert window.autosaver.timer.interval() == PROMPT_DEBOUNCE_MS  # strokes are saved promptly meanwhile
    qtbot.waitUntil(lambda: len(panel.loss_plot.step_points()[0]) > 0, timeout=5000)
    with qtbot.waitSignal(panel.trainingFinished, timeout=20000) as done:
        click(panel.live_check)  # untick: stop
    assert done.args == ["cancelled"]
    qtbot.waitUntil(lambda: not panel.is_training(), timeout=5000)
    assert not panel.live_check.isChecked() and panel.train_button.isEnabled() and panel.train_button.text() == "Train"
    assert not panel.stop_button.isEnabled() and panel.form.epochs_spin.isEnabled()
    assert len(panel.loss_plot.step_points()[0]) > 0  # the curves stay
    run = panel.runs_list.runs[0]
    assert "last" in run.checkpoints and window.session.model.checkpoint is not None  # the last checkpoint is kept
    assert window.autosaver.timer.interval() == window.autosaver.debounce_ms


def test_stop_button_and_another_project_untick_live_training(qtbot, main_window, live_panel, tmp_path):
    from segstudio.core.demo import generate_demo_project

    panel = live_panel
    tick_live(qtbot, panel)
    with qtbot.waitSignal(panel.trainingFinished, timeout=20000):
        click(panel.stop_button)
    qtbot.waitUntil(lambda: not panel.is_training(), timeout=5000)
    assert not panel.live_check.isChecked() and panel.train_button.isEnabled()
    tick_live(qtbot, panel)
    other = tmp_path / "other"
    generate_demo_project(other, n_images=3, labeled=1, size=(48, 48))
    assert main_window.open_project(other)
    assert not panel.live_check.isChecked()  # at once
    qtbot.waitUntil(lambda: not panel.is_training(), timeout=20000)
    assert not panel.live_check.isChecked() and panel.train_button.isEnabled()


def test_ticking_during_a_normal_training_asks_then_switches_to_live(qtbot, main_window, live_panel):
    panel = live_panel
    panel.form.epochs_spin.setValue(1000)
    with qtbot.waitSignal(panel.controller.steps, timeout=START_TIMEOUT):
        click(panel.train_button)
    assert panel.is_training() and not panel.is_live()
    asked = []
    panel.live.ask_switch = lambda _parent: asked.append("no") or False
    click(panel.live_check)
    assert asked == ["no"] and not panel.live_check.isChecked() and panel.is_training() and not panel.is_live()
    panel.live.ask_switch = lambda _parent: asked.append("yes") or True
    with qtbot.waitSignal(panel.trainingFinished, timeout=20000) as first:
        click(panel.live_check)
    assert first.args == ["cancelled"]
    qtbot.waitUntil(panel.is_live, timeout=5000)  # the live run follows the stopped one
    assert panel.live_check.isChecked() and panel.train_button.text() == "Training live…"
    assert asked == ["no", "yes"]


def test_a_stroke_reaches_the_live_trainer_mid_epoch(qtbot, main_window, live_panel, stroke, monkeypatch):
    from segstudio.engine.live_data import LiveData

    marks = []
    original = LiveData.mark_changed

    def spy(self, image_id, box=None):
        marks.append((image_id, box))
        return original(self, image_id, box)

    monkeypatch.setattr(LiveData, "mark_changed", spy)
    window, panel = main_window, live_panel
    new_id = unlabeled_id(window)
    window.show_image(new_id)
    tick_live(qtbot, panel)
    epochs = []
    panel.controller.epochEnded.connect(epochs.append)
    window.select_class(2)
    with qtbot.waitSignal(panel.controller.liveDataPicked, timeout=20000,
                          check_params_cb=lambda ev: ev.image_id == new_id) as picked:
        stroke(window, [(10, 20), (25, 22), (40, 24)])
        qtbot.waitUntil(lambda: bool(marks), timeout=1500)  # saved within ~0.25 s of the release
    (image_id, box), = marks
    x0, y0, x1, y1 = box
    assert image_id == new_id and x0 <= 10 and y0 <= 20 and x1 > 40 and y1 > 24 and x1 - x0 < 64
    saved = read_mask(window.project.mask_path(new_id))
    assert saved[22, 25] == 2 and saved[50, 50] == 255  # atomically on disk, as painted
    assert picked.args[0].new_image and not epochs  # the engine drew a crop of it before the epoch ended
    assert panel.edits_picked >= 1 and new_id in panel.controller._handle.trainer.train_ids  # noqa: SLF001


def test_previews_reach_the_canvas_only_for_the_image_on_screen_and_when_newer(qtbot, main_window, live_panel):
    from segstudio.engine.events import PreviewEvent

    window, panel = main_window, live_panel
    tick_live(qtbot, panel)
    current = window.current_image_id
    qtbot.waitUntil(lambda: window.session.prediction(current) is not None, timeout=20000)  # a real live preview
    other = next(i for i in window.session.image_ids if i != current)
    shape = load_image(window.project.image_path(other)).shape
    fake = np.full(shape, 3, np.uint8)
    conf = np.ones(shape, np.float32)
    panel.controller.preview.emit(PreviewEvent(other, fake, conf, 0, 10**9, 1e12))
    assert window.session.prediction(other) is None  # another image: not stored, not drawn
    shown = window.session.prediction(current).mask.copy()
    panel.controller.preview.emit(PreviewEvent(current, np.full(shown.shape, 3, np.uint8), conf, 0, -1, 0.0))
    assert np.array_equal(window.session.prediction(current).mask, shown)  # older than what is shown
    panel.controller.preview.emit(PreviewEvent(current, np.full(shown.shape, 3, np.uint8), conf, 0, 10**9, 1e12))
    assert (window.session.prediction(current).mask == 3).all()  # newer: on the canvas
    assert window.canvas.has_prediction


def test_switching_images_points_the_previews_at_the_new_image(qtbot, main_window, live_panel, monkeypatch):
    from segstudio.engine.live_data import LiveData

    asked = []
    original = LiveData.set_preview_image
    monkeypatch.setattr(LiveData, "set_preview_image",
                        lambda self, image_id: (asked.append(image_id), original(self, image_id))[1])
    window, panel = main_window, live_panel
    tick_live(qtbot, panel)
    start = window.current_image_id
    with qtbot.waitSignal(panel.predictionShown, timeout=20000,
                          check_params_cb=lambda image_id: image_id != start) as shown:
        QTest.keyClick(window.canvas, Qt.Key.Key_D)  # next image, as a user does
        assert asked and asked[-1] == window.current_image_id != start  # at once, not after the interval
    assert shown.args[0] == window.current_image_id
    assert not panel.prediction.busy  # no checkpoint prediction competes with the trainer's preview
