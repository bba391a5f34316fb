"""The training dock (issue #5): settings, Train/Stop, progress, live curves, predictions, runs.

``install_training_panel(main_window)`` builds it into ``main_window.training_dock``, adds the Model
menu actions and hooks the window's signals (current image, saved masks, project, close).
The "Predictions" group (Accept prediction, Predict all) is ``predictions_box.PredictionsBox``.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from segstudio.gui.training.close_guard import CloseGuard
from segstudio.gui.training.error_box import ErrorBox
from segstudio.gui.training.loss_plot import LossPlot
from segstudio.gui.training.metrics_follower import records_to_events
from segstudio.gui.training.multi_gpu import MultiGpuRun, torchrun_command
from segstudio.gui.training.prediction import PredictionService
from segstudio.gui.training.predictions_box import ACCEPT_MODES, PredictionsBox  # noqa: F401 - re-exported
from segstudio.gui.training.runs_list import RunsList, read_run
from segstudio.gui.training.settings_form import LIVE_EPOCHS, TrainSettingsForm

if TYPE_CHECKING:  # imported at first use: the worker pulls in numpy (startup stays fast)
    from segstudio.gui.training.predict_all import PredictAllJob
    from segstudio.gui.training.worker import TrainingController


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(v, digits: int) -> str:
    return "–" if v is None else f"{float(v):.{digits}f}"


class TrainingPanel(QWidget):
    """Everything about training and predicting, for one main window."""

    predictionShown = Signal(str)  # image id whose prediction was handed to the window
    trainingFinished = Signal(str)  # "completed" | "cancelled" | "failed"
    runningChanged = Signal(bool)  # the in-process training started / ended

    def __init__(self, main_window, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mw = main_window
        #: ask before closing the window while training (tests set False)
        self.confirm_close = True
        self.predictions_received = 0
        self.masks_saved_during_run = 0
        self._train_start = None
        self._training_root: Path | None = None
        self._live = False
        self._t0 = 0.0
        self._rate_start: tuple[float, int] | None = None
        self._ddp: MultiGpuRun | None = None

        self._controller: TrainingController | None = None  # built on first use (see ``controller``)
        self.prediction = PredictionService(self)
        self._build_ui()
        self.form.restore_settings()
        self._connect()
        self._set_running(False)

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a model on the labeled images (Ctrl+Shift+T)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the last checkpoint is kept")
        row.addWidget(self.train_button)
        row.addWidget(self.stop_button)
        outer.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        outer.addWidget(self.progress)
        self.status_label = QLabel("Ready: click Train to learn from the labeled images.")
        self.status_label.setWordWrap(True)
        # fixed height: a new status text (every epoch) must not re-layout the whole dock
        self.status_label.setFixedHeight(self.status_label.fontMetrics().lineSpacing() * 3 + 4)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        outer.addWidget(self.status_label)
        self.error_box = ErrorBox()
        outer.addWidget(self.error_box)

        self.predictions_box = PredictionsBox(self)
        box = self.predictions_box
        self.accept_button, self.accept_mode_combo = box.accept_button, box.accept_mode_combo
        self.predict_all_button, self.predict_all_progress = box.predict_all_button, box.predict_all_progress
        outer.addWidget(box)

        self.tabs = QTabWidget()
        self.form = TrainSettingsForm()
        self.tabs.addTab(self.form, "Settings")
        self.loss_plot = LossPlot()
        self.tabs.addTab(self.loss_plot, "Curves")
        self.runs_list = RunsList()
        self.tabs.addTab(self.runs_list, "Runs")
        outer.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.prediction.predicted.connect(self._on_predicted)
        self.prediction.failed.connect(self._on_predict_failed)
        self.runs_list.checkpointChosen.connect(self.use_checkpoint)

    @property
    def controller(self) -> TrainingController:
        """The in-process training controller, created (and the worker module imported) on first use."""
        if self._controller is None:
            from segstudio.gui.training.worker import TrainingController

            self._controller = TrainingController(self)
            self._connect_controller(self._controller)
        return self._controller

    def _connect_controller(self, c: TrainingController) -> None:
        c.runningChanged.connect(self._on_running_changed)
        c.runningChanged.connect(self.runningChanged)
        c.started.connect(self._on_train_start)
        c.steps.connect(self._on_steps)
        c.epochEnded.connect(self._on_epoch)
        c.preview.connect(self._on_preview)
        c.checkpointSaved.connect(self._on_checkpoint)
        c.batchSizeReduced.connect(self._on_batch_size_reduced)
        c.warning.connect(self._on_warning)
        c.ended.connect(self._on_end)

    # ------------------------------------------------------------------ state
    @property
    def project(self):
        return getattr(self.mw, "project", None)

    def is_training(self) -> bool:
        running = self._controller is not None and self._controller.is_running()
        return running or (self._ddp is not None and self._ddp.is_running())

    def is_busy(self) -> bool:
        return self.is_training() or self.predictions_box.is_running()

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)

    def set_project(self, project) -> None:
        """A project was opened: show its runs and predict with its newest checkpoint.

        A training of the previous project is stopped (its previews would not belong here)."""
        if self.is_training() and project is not None and Path(project.root) != self._training_root:
            self.stop_training()
        self.runs_list.set_runs_dir(project.runs_dir if project is not None else None)
        self.prediction.set_checkpoint(None)
        newest = next((r for r in self.runs_list.runs if r.preferred_checkpoint), None)
        if newest is not None:
            self.use_checkpoint(newest.preferred_checkpoint, predict_now=False)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.form.detect_if_engine_loaded()

    # ------------------------------------------------------------------ training
    @Slot()
    def start_training(self) -> bool:
        """Start training with the form's settings (in-process worker, or torchrun for several GPUs)."""
        if self.is_training():
            return False
        project = self.project
        if project is None:
            self.error_box.show_error("Open a project first.")
            return False
        if hasattr(self.mw, "save_now"):
            self.mw.save_now()  # the trainer reads masks from disk
        if not project.labeled_images():
            self.error_box.show_error("No labeled images yet: paint a few strokes on an image, then train.")
            return False
        self.error_box.clear()
        self.loss_plot.clear()
        self.masks_saved_during_run = 0
        self._train_start = None
        self._rate_start = None
        self._t0 = time.monotonic()
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.status_label.setText("Starting training…")
        self.tabs.setCurrentWidget(self.loss_plot)
        config = self.form.config()
        self.form.save_settings()
        self._live = self.form.live
        self._training_root = Path(project.root)
        nproc = self.form.multi_gpu_count()
        if nproc > 1:
            return self._start_multi_gpu(nproc, project, config)
        self.form.detect_devices()
        self.controller.start(project.root, config, getattr(self.mw, "current_image_id", None))
        return True

    @Slot()
    def stop_training(self) -> None:
        """Cancel: the trainer stops after the current batch and keeps its last checkpoint."""
        if self._ddp is not None and self._ddp.is_running():
            self._ddp.stop()
        if self._controller is not None:
            self._controller.stop()
        if self.is_training():
            self.status_label.setText("Stopping…")
            self.progress.setFormat("stopping…")

    def _on_running_changed(self, running: bool) -> None:
        self._set_running(running)
        if not running:
            self.runs_list.refresh()

    def _on_train_start(self, ev) -> None:
        self._train_start = ev
        self.status_label.setText(
            f"Training {ev.model} on {ev.num_train} images ({ev.num_val} for validation), {ev.device}, "
            f"{ev.precision}" + (" — live: saved masks join at the next epoch" if self._live else ""))
        if getattr(ev, "run_dir", None):
            self.runs_list.refresh()

    def _on_steps(self, points, last) -> None:
        if points:
            self.loss_plot.add_steps(points)
        if last is None:
            return
        now = time.monotonic()
        if self._rate_start is None:
            self._rate_start = (now, last.global_step)
        epochs = getattr(self._train_start, "epochs", None) or 0
        total = max(1, int(last.total_steps or 1))
        live = self._live or epochs >= LIVE_EPOCHS
        text = f"epoch {last.epoch + 1}" + ("" if live or not epochs else f"/{epochs}")
        steps_per_epoch = getattr(self._train_start, "steps_per_epoch", 0)
        text += f" · step {last.step + 1}" + (f"/{steps_per_epoch}" if steps_per_epoch else "")
        text += f" · {last.images_per_s:.1f} img/s"
        t_start, s_start = self._rate_start
        done = last.global_step - s_start
        if not live and done > 0 and now > t_start:
            left = (total - last.global_step) * (now - t_start) / done
            text += f" · {format_duration(left)} left"
        self.progress.setFormat(text)
        if live:  # no end: the bar shows the progress through the current epoch
            self.progress.setValue(min(1000, (last.step + 1) * 1000 // max(1, steps_per_epoch or 1)))
        else:
            self.progress.setValue(min(1000, int(1000 * (last.global_step + 1) / total)))

    def _on_epoch(self, ev) -> None:
        self.loss_plot.add_epoch(ev.epoch + 1, ev.train_loss, ev.val_loss, ev.miou)
        extra = f" · {self.masks_saved_during_run} masks saved meanwhile" if self._live else ""
        self.status_label.setText(f"Epoch {ev.epoch + 1}: train loss {_fmt(ev.train_loss, 4)}, val loss "
                                  f"{_fmt(ev.val_loss, 4)}, mIoU {_fmt(ev.miou, 3)} ({ev.seconds:.1f} s){extra}")

    def _on_preview(self, ev) -> None:
        project = self.project
        if project is not None and self._training_root is not None and Path(project.root) != self._training_root:
            return  # a preview from a training of another project
        self._show_prediction(ev.image_id, ev.mask, ev.confidence)

    def _on_checkpoint(self, ev) -> None:
        self.prediction.set_checkpoint(ev.path)
        self.runs_list.set_active_checkpoint(ev.path, refresh=False)

    def _on_batch_size_reduced(self, ev) -> None:
        self.status_label.setText(f"Batch size reduced from {ev.old} to {ev.new}: {ev.reason}")

    def _on_warning(self, message: str) -> None:
        self.status_label.setText(f"Warning: {message}")

    def _on_end(self, ev) -> None:
        status = getattr(ev, "status", "failed")
        best = getattr(ev, "best_miou", None)
        elapsed = format_duration(time.monotonic() - self._t0)
        if status == "completed":
            self.progress.setValue(1000)
            self.progress.setFormat("done")
            self.status_label.setText(f"Training finished in {elapsed}"
                                      + (f", best mIoU {best:.3f}" if best is not None else "") + ".")
        elif status == "cancelled":
            self.progress.setFormat("stopped")
            self.status_label.setText(f"Training stopped after {elapsed}; the last checkpoint was kept.")
        else:
            self.progress.setFormat("failed")
            self.status_label.setText("Training failed.")
            self.error_box.show_error(f"Training failed: {ev.message}", getattr(ev, "traceback", None))
        run_dir = getattr(ev, "run_dir", None)
        if run_dir:
            info = read_run(run_dir)
            if info.preferred_checkpoint is not None:
                self.use_checkpoint(info.preferred_checkpoint)
        self.runs_list.refresh()
        self.trainingFinished.emit(status)

    # ------------------------------------------------------------------ multi-GPU (torchrun subprocess)
    def _start_multi_gpu(self, nproc: int, project, config: dict, command: tuple[str, list[str]] | None = None) -> bool:
        run_dir = project.runs_dir / time.strftime("%Y%m%d-%H%M%S-ddp")
        program, args = command or torchrun_command(nproc, project.root, config, run_dir)
        return self.start_external_run(run_dir, program, args, config)

    def start_external_run(self, run_dir: Path, program: str, args: list[str], config: dict | None = None) -> bool:
        """Run a training subprocess and follow RUN_DIR/metrics.jsonl (used for torchrun; tests pass a fake)."""
        if self.is_training():
            return False
        self.loss_plot.clear()
        self._train_start = None
        self._rate_start = None
        self._t0 = time.monotonic()
        if self._ddp is not None:
            self._ddp.deleteLater()
        self._ddp = MultiGpuRun(run_dir, parent=self)
        self._ddp.recordsAppended.connect(self._on_records)
        self._ddp.finished.connect(self._on_ddp_finished)
        self._ddp.start(program, args)
        self._set_running(True)
        self.status_label.setText(f"Training in a separate process ({run_dir.name})…")
        return True

    def _on_records(self, records: list[dict]) -> None:
        for kind, payload in records_to_events(records):
            if kind == "steps":
                self._on_steps(*payload)
            elif kind == "epoch":
                self._on_epoch(payload)
            elif kind == "start":
                self._train_start = payload
            elif kind == "checkpoint" and payload.path.is_file():
                # no previews come from another process: predict the image on screen with the new weights
                self._on_checkpoint(payload)
                self.predict_current()

    def _on_ddp_finished(self, code: int, status: str) -> None:
        ddp = self._ddp
        self._set_running(False)
        message = f"the training process exited with status {code}"
        ev = SimpleNamespace(status=status, message=message, traceback=ddp.output_text() if ddp else None,
                             run_dir=ddp.run_dir if ddp else None, best_miou=None)
        if ddp is not None:
            ev.best_miou = read_run(ddp.run_dir).best_miou
        self._on_end(ev)

    # ------------------------------------------------------------------ predictions
    def use_checkpoint(self, path, predict_now: bool = True) -> None:
        """Make ``path`` the checkpoint that predicts (and predict the image on screen)."""
        self.prediction.set_checkpoint(path)
        self.runs_list.set_active_checkpoint(path)
        if predict_now:
            self.predict_current()

    def predict_current(self) -> bool:
        """Predict the image on screen in the background with the current checkpoint."""
        project, image_id = self.project, getattr(self.mw, "current_image_id", None)
        if project is None or not image_id:
            return False
        return self.prediction.request(image_id, project.image_path(image_id))

    def on_current_image_changed(self, image_id: str) -> None:
        if self._controller is not None:
            self._controller.set_preview_image(image_id)
        if image_id:
            self.predict_current()

    def on_mask_saved(self, image_id: str) -> None:
        if self.is_training():
            self.masks_saved_during_run += 1

    def _on_predicted(self, image_id: str, mask, confidence, entropy: float) -> None:
        project = self.project
        if project is None or not project.image_path(image_id).is_file():
            return  # the project changed meanwhile
        self._show_prediction(image_id, mask, confidence)
        if hasattr(self.mw, "set_uncertainty"):
            self.mw.set_uncertainty(image_id, float(entropy))

    def _on_predict_failed(self, image_id: str, message: str, trace: str) -> None:
        self.error_box.show_error(f"Could not predict {image_id}: {message}", trace)

    def _show_prediction(self, image_id: str, mask, confidence) -> None:
        self.predictions_received += 1
        self.mw.set_prediction(image_id, mask, confidence)
        self.predictionShown.emit(image_id)

    def accept_prediction(self, mode: str | None = None) -> None:
        """Copy the prediction into the current mask ("unlabeled" pixels only, or "all"); one undo step."""
        self.predictions_box.accept_prediction(mode)

    @Slot()
    def predict_all(self) -> bool:
        """Predict every image in the background (see ``PredictionsBox.predict_all``)."""
        return self.predictions_box.predict_all()

    @property
    def _predict_all(self) -> PredictAllJob | None:
        """The running "Predict all" job, or None."""
        return self.predictions_box.job

    # ------------------------------------------------------------------ shutdown
    def rebuild_plot_if_visible(self) -> None:
        if self.mw.isVisible() and self.loss_plot.graphics is None:
            self.loss_plot.rebuild()

    def shutdown(self, timeout_s: float = 15.0) -> None:
        """Stop everything running in the background and join the threads (window close, app quit)."""
        if self._controller is not None:
            self._controller.shutdown(timeout_s)
        if self._ddp is not None:
            self._ddp.wait(int(timeout_s * 1000))
        self.predictions_box.shutdown(int(timeout_s * 1000))
        self.prediction.shutdown(int(timeout_s * 1000))
        self.form.probe.wait(int(timeout_s * 1000))


def install_training_panel(main_window) -> TrainingPanel:
    """Build the training dock into ``main_window`` and hook it to the window's signals and menus."""
    panel = TrainingPanel(main_window)
    dock = getattr(main_window, "training_dock", None)
    if dock is None:
        dock = QDockWidget("Training", main_window)
        dock.setObjectName("training_dock")
        main_window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        main_window.training_dock = dock
    dock.setWidget(panel)
    main_window.training_panel = panel

    if hasattr(main_window, "menu"):
        menu = main_window.menu("Model")
        actions = [
            ("Train", "Ctrl+Shift+T", panel.start_training),
            ("Stop training", "", panel.stop_training),
            ("Accept prediction (unlabeled pixels only)", "Ctrl+Shift+A", lambda: panel.accept_prediction("unlabeled")),
            ("Accept prediction (everywhere)", "Ctrl+Alt+Shift+A", lambda: panel.accept_prediction("all")),
            ("Predict current image", "", panel.predict_current),
            ("Predict all images", "Ctrl+Shift+P", panel.predict_all),
        ]
        panel.actions_by_name = {}
        for text, shortcut, slot in actions:
            act = QAction(text, main_window)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _=False, s=slot: s())
            menu.addAction(act)
            panel.actions_by_name[text] = act
        panel.runningChanged.connect(
            lambda running: (panel.actions_by_name["Train"].setEnabled(not running),
                             panel.actions_by_name["Stop training"].setEnabled(running)))
        panel.actions_by_name["Stop training"].setEnabled(False)

    for signal, slot in (("currentImageChanged", panel.on_current_image_changed),
                         ("maskSaved", panel.on_mask_saved), ("projectOpened", panel.set_project)):
        sig = getattr(main_window, signal, None)
        if sig is not None:
            sig.connect(slot)
    if getattr(main_window, "project", None) is not None:
        panel.set_project(main_window.project)

    panel.close_guard = CloseGuard(panel)
    main_window.installEventFilter(panel.close_guard)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return panel
