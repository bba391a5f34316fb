"""Training from the window (issue #5): Train/Stop clicked like a user, live curves, predictions on
the canvas, close while training, errors with details, accept prediction + undo, live training,
predict all, and a followed subprocess run (the multi-GPU path, with a fake trainer script)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from segstudio.core.project import Project

TINY = {"model_args": {"width": 4, "depth": 2}, "steps_per_epoch": 3, "device": "cpu", "pretrained": False,
        "channels_last": False}
FINISH_TIMEOUT = 60000


def tiny_panel(window, epochs: int = 2, **extra):
    """The window's training panel set to a tiny CPU training through its widgets."""
    panel = window.training_panel
    panel.confirm_close = False
    form = panel.form
    form.crop_spin.setValue(32)
    form.batch_spin.setValue(2)
    form.epochs_spin.setValue(epochs)
    form.device_combo.setCurrentIndex(form.device_combo.findData("cpu"))
    form.extra_config = {**TINY, **extra}
    return panel


def click(button) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory) -> Path:
    """A tiny model trained on a copy of the small demo project (engine called directly, no GUI)."""
    from segstudio.core.demo import generate_demo_project
    from segstudio.engine.config import TrainConfig
    from segstudio.engine.trainer import Trainer

    root = tmp_path_factory.mktemp("ckpt") / "project"
    generate_demo_project(root, n_images=6, labeled=3, size=(64, 64))
    cfg = TrainConfig.from_json({**TINY, "model": "unet", "epochs": 1, "batch_size": 2, "crop": 32})
    end = Trainer(root, cfg).run()
    assert end.status == "completed", end.message
    return end.run_dir / "last.pt"


def test_train_click_draws_curves_and_shows_the_prediction(qtbot, main_window):
    panel = tiny_panel(main_window)
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    with qtbot.waitSignal(panel.trainingFinished, timeout=FINISH_TIMEOUT) as done:
        click(panel.train_button)
        qtbot.waitUntil(lambda: panel.stop_button.isEnabled(), timeout=5000)
    assert done.args == ["completed"]
    xs, ys = panel.loss_plot.step_points()
    assert list(xs) == list(range(6)) and np.all(np.isfinite(ys))
    assert [e[0] for e in panel.loss_plot.epoch_points()] == [1.0, 2.0]
    assert panel.predictions_received >= 1  # per-epoch previews (coalesced when epochs end within 100 ms)
    current = main_window.current_image_id
    pred = main_window.session.prediction(current)
    assert pred.mask.shape == main_window.current_image.shape and pred.mask.dtype == np.uint8
    assert pred.confidence is not None and pred.confidence.shape == pred.mask.shape
    assert panel.progress.format() == "done" and panel.train_button.isEnabled()
    runs = panel.runs_list.runs
    assert len(runs) == 1 and runs[0].best_miou is not None and "best" in runs[0].checkpoints
    checkpoint = main_window.session.model.checkpoint
    assert checkpoint is not None and checkpoint.is_file()
    # changing image predicts the new one in the background with the latest checkpoint
    with qtbot.waitSignal(panel.predictionShown, timeout=20000,
                          check_params_cb=lambda image_id: image_id != current) as shown:
        main_window.next_image()
    new_id = shown.args[0]
    assert new_id == main_window.current_image_id
    assert main_window.session.prediction(new_id).mask.shape == main_window.current_image.shape
    assert main_window.browser.model._uncertainty.get(new_id, -1.0) >= 0.0


def test_stop_ends_the_training_quickly_and_keeps_the_last_checkpoint(qtbot, main_window):
    panel = tiny_panel(main_window, epochs=1000, steps_per_epoch=100000)
    click(panel.train_button)
    qtbot.waitUntil(lambda: len(panel.loss_plot.step_points()[0]) >= 2, timeout=FINISH_TIMEOUT)
    with qtbot.waitSignal(panel.controller.runningChanged, timeout=5000) as stopped:  # typically < 0.3 s
        click(panel.stop_button)
    assert stopped.args == [False]
    assert not panel.is_training() and not main_window.runner.pending("train")
    assert panel.progress.format() == "stopped"
    run = panel.runs_list.runs[0]
    assert run.checkpoints.get("last") is not None and run.checkpoints["last"].stat().st_size > 0


def test_closing_the_window_while_training_asks_then_stops_cleanly(qtbot, main_window, monkeypatch):
    panel = tiny_panel(main_window, epochs=1000, steps_per_epoch=100000)
    panel.confirm_close = True
    answers = []
    panel.ask_stop = lambda parent: answers.append(1) or len(answers) > 1
    click(panel.train_button)
    qtbot.waitUntil(lambda: len(panel.loss_plot.step_points()[0]) >= 1, timeout=FINISH_TIMEOUT)
    main_window.close()  # first answer: no
    assert main_window.isVisible() and panel.is_training() and len(answers) == 1
    threads = list(main_window.runner._threads)  # noqa: SLF001 - the worker threads must all end
    main_window.close()  # second answer: yes -> stop, join, close
    assert len(answers) == 2 and not main_window.isVisible()
    assert not panel.is_training() and threads and all(t.isFinished() for t in threads)


def test_a_failing_training_is_reported_with_details_and_the_app_keeps_running(qtbot, main_window, monkeypatch):
    panel = tiny_panel(main_window, model="no_such_model")
    with qtbot.waitSignal(panel.trainingFinished, timeout=FINISH_TIMEOUT) as done:
        click(panel.train_button)
    assert done.args == ["failed"]
    assert panel.error_box.isVisible() and "no_such_model" in panel.error_box.label.text()
    assert not panel.is_training() and panel.train_button.isEnabled()

    # an unexpected error (e.g. out of memory that survived the retries): message + full trace
    from segstudio.engine.trainer import Trainer

    def out_of_memory(self):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "fit", out_of_memory)
    panel.form.extra_config = dict(TINY)
    with qtbot.waitSignal(panel.trainingFinished, timeout=FINISH_TIMEOUT) as done:
        click(panel.train_button)
    assert done.args == ["failed"] and "out of memory" in panel.error_box.label.text()
    assert panel.error_box.details_button.isVisible() and not panel.error_box.details.isVisible()
    click(panel.error_box.details_button)
    trace = panel.error_box.details.toPlainText()
    assert panel.error_box.details.isVisible() and "Traceback" in trace and "out_of_memory" in trace
    assert main_window.isVisible() and panel.train_button.isEnabled()


def test_accept_prediction_changes_the_mask_and_undo_restores_it(qtbot, main_window):
    panel = main_window.training_panel
    doc = main_window.current_document()
    before = doc.mask.copy()
    prediction = np.full(before.shape, 2, np.uint8)
    main_window.set_prediction(main_window.current_image_id, prediction, None)
    panel.accept_mode_combo.setCurrentIndex(panel.accept_mode_combo.findData("all"))
    click(panel.accept_button)
    assert np.array_equal(main_window.current_document().mask, prediction)
    main_window.undo()
    assert np.array_equal(main_window.current_document().mask, before)
    action = main_window.actions_by_name["accept_all"]
    assert not action.shortcut().isEmpty() and action in main_window.menu("Model").actions()


def test_live_training_picks_up_a_mask_saved_after_the_start(qtbot, main_window):
    panel = tiny_panel(main_window, steps_per_epoch=2)
    project: Project = main_window.project
    new_id = next(project.image_id(p) for p in project.list_images() if not project.has_mask(p))
    with qtbot.waitSignal(panel.controller.epochEnded, timeout=FINISH_TIMEOUT):
        click(panel.live_check)  # ticking Live training starts it
    trainer = panel.controller._handle.trainer  # noqa: SLF001
    assert new_id not in trainer.train_ids
    main_window.show_image(new_id)
    doc = main_window.current_document()
    doc.replace(np.ones(doc.shape, np.uint8), "label all")
    with qtbot.waitSignal(main_window.maskSaved, timeout=5000):
        assert main_window.save_now()
    assert panel.masks_saved_during_run >= 1
    qtbot.waitUntil(lambda: new_id in trainer.train_ids, timeout=FINISH_TIMEOUT)
    # the preview follows the image on screen
    with qtbot.waitSignal(panel.predictionShown, timeout=FINISH_TIMEOUT,
                          check_params_cb=lambda image_id: image_id == new_id):
        pass
    assert panel.is_training()
    with qtbot.waitSignal(panel.trainingFinished, timeout=5000) as done:
        click(panel.stop_button)
    assert done.args == ["cancelled"]


def test_predict_all_stores_predictions_and_reports_uncertainty(qtbot, main_window, trained_checkpoint):
    panel = main_window.training_panel
    panel.use_checkpoint(trained_checkpoint, predict_now=False)
    uncertainties: dict[str, float] = {}
    main_window.session.events.connect("uncertainty_changed", uncertainties.__setitem__)
    project: Project = main_window.project
    ids = [project.image_id(p) for p in project.list_images()]
    click(panel.predict_all_button)
    qtbot.waitUntil(lambda: not panel.predictions_box.is_running(), timeout=FINISH_TIMEOUT)
    assert sorted(uncertainties) == sorted(ids) and all(v >= 0 for v in uncertainties.values())
    for image_id in ids:
        pred = project.read_prediction(image_id)
        assert pred is not None and pred.shape == (64, 64)
        assert main_window.session.model.has_prediction(image_id)
        assert main_window.browser.model.is_predicted(image_id)
    assert panel.status_label.text().startswith(f"Predicted {len(ids)} of {len(ids)} images")
    assert not project.has_mask(ids[-1])  # predictions are kept apart from the masks


FAKE_TORCHRUN = textwrap.dedent('''
    import json, os, sys, time
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.jsonl"), "a") as fh:
        fh.write(json.dumps({"type": "TrainStart", "epochs": 100, "steps_per_epoch": 2, "model": "unet"}) + "\\n")
        for i in range(100000):
            fh.write(json.dumps({"type": "StepEvent", "epoch": i // 2, "step": i % 2, "global_step": i,
                                 "total_steps": 200, "loss": 1.0 / (i + 1), "lr": 0.001, "images_per_s": 8.0}) + "\\n")
            if i % 2 == 1:
                fh.write(json.dumps({"type": "EpochEnd", "epoch": i // 2, "epochs": 100, "train_loss": 0.5,
                                     "val_loss": 0.4, "miou": 0.3}) + "\\n")
            if i == 1 and len(sys.argv) > 2:
                fh.write(json.dumps({"type": "CheckpointSaved", "path": sys.argv[2], "kind": "last",
                                     "epoch": 1, "miou": 0.3}) + "\\n")
            fh.flush()
            time.sleep(0.02)
''')


def test_subprocess_run_is_followed_and_stopped(qtbot, main_window, tmp_path, trained_checkpoint):
    """The multi-GPU path: curves from the subprocess's metrics.jsonl, predictions from its checkpoints."""
    panel = main_window.training_panel
    script = tmp_path / "fake_torchrun.py"
    script.write_text(FAKE_TORCHRUN)
    run_dir = main_window.project.runs_dir / "fake-ddp"
    with qtbot.waitSignal(panel.predictionShown, timeout=FINISH_TIMEOUT,
                          check_params_cb=lambda i: i == main_window.current_image_id):
        assert panel.start_external_run(run_dir, sys.executable, [str(script), str(run_dir), str(trained_checkpoint)])
        assert panel.stop_button.isEnabled() and panel.is_training()
    qtbot.waitUntil(lambda: len(panel.loss_plot.epoch_points()) >= 2, timeout=15000)
    assert len(panel.loss_plot.step_points()[0]) >= 4 and "epoch" in panel.progress.format()
    with qtbot.waitSignal(panel.trainingFinished, timeout=8000) as done:
        click(panel.stop_button)
    assert done.args == ["cancelled"] and not panel.is_training()
    assert any(r.name == "fake-ddp" for r in panel.runs_list.runs)


def test_device_list_fills_in_the_background(qtbot, main_window):
    form = main_window.training_panel.form
    with qtbot.waitSignal(form.probe.ready, timeout=30000):
        form.device_combo.showPopup()
    form.device_combo.hidePopup()
    assert form.device_combo.findData("cpu") >= 0 and form.device_combo.findData("auto") == 0
    assert not form.multi_gpu_check.isVisible()  # no second GPU here


def test_opening_the_window_does_not_import_torch(demo_project):
    code = textwrap.dedent(f'''
        import sys
        from segstudio.gui.app import create_application, create_main_window
        app = create_application([])
        w = create_main_window({str(demo_project)!r})
        w.show(); app.processEvents()
        assert w.training_panel.train_button.text() == "Train"
        w.close()
        print("torch" in sys.modules)
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_large_image_is_predicted_in_the_background(qtbot, main_window, trained_checkpoint, tmp_path):
    """A 2048x2048 image goes through the tiled Predictor on the worker thread; the event loop keeps running."""
    import cv2

    big = tmp_path / "big.png"
    rgb = np.zeros((2048, 2048, 3), np.uint8)
    rgb[::16] = 180
    cv2.imwrite(str(big), rgb)
    (image_id,) = main_window.add_images([big])
    main_window.show_image(image_id)
    panel = main_window.training_panel
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(panel.prediction.busy))
    timer.start()
    with qtbot.waitSignal(panel.predictionShown, timeout=FINISH_TIMEOUT,
                          check_params_cb=lambda i: i == image_id):
        panel.use_checkpoint(trained_checkpoint)
    timer.stop()
    assert sum(ticks) >= 3  # the GUI thread kept serving timers while the prediction ran
    pred = main_window.session.prediction(image_id)
    assert pred.mask.shape == (2048, 2048) and pred.confidence.shape == (2048, 2048)
    assert main_window.browser.model._uncertainty.get(image_id, -1.0) >= 0.0


def test_prediction_requests_are_latest_wins_and_cancellable(qtbot, trained_checkpoint, tmp_path):
    """Leaving an image cancels its running prediction; only the image the user stopped on is predicted."""
    import cv2

    from segstudio.gui.jobs import JobRunner
    from segstudio.gui.training.prediction import PredictionService

    big, small = tmp_path / "big.png", tmp_path / "small.png"
    cv2.imwrite(str(big), np.full((3072, 3072, 3), 120, np.uint8))
    cv2.imwrite(str(small), np.full((40, 56, 3), 90, np.uint8))
    runner = JobRunner()
    got: list = []
    started = []
    service = PredictionService(runner, lambda r: got.append((r.image_id, r.mask.shape)), lambda *a: got.append(a))
    real_get = service.cache.get
    service.cache.get = lambda ckpt: (started.append(1), real_get(ckpt))[1]
    assert service.request("big", big, trained_checkpoint, tmp_path)
    qtbot.waitUntil(lambda: bool(started), timeout=20000)
    assert service.request("small", small, trained_checkpoint, tmp_path)
    qtbot.waitUntil(lambda: not service.busy, timeout=FINISH_TIMEOUT)
    assert got == [("small", (40, 56))]
    assert service.request("small", small, trained_checkpoint, tmp_path)  # the same prediction again: nothing to do
    qtbot.wait(100)
    assert got == [("small", (40, 56))]
    assert runner.shutdown(10)
