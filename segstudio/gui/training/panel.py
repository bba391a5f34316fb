"""The training dock: settings, Train/Stop, progress, live curves, predictions, runs.

Built by the main window with its dependencies (session, job runner, error reporter, a function that
saves the open edits). It renders the training and prediction state of the session's project: opening
another project resets the panel (its runs, its checkpoint, its status) and stops a training of the
old one, so nothing of one project shows in another. The "Predictions" group is ``PredictionsBox``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from segstudio.engine.config import LIVE_EPOCHS
from segstudio.gui.questions import Questions
from segstudio.gui.errors import ErrorReporter
from segstudio.gui.jobs import JobRunner
from segstudio.gui.training.error_box import ErrorBox
from segstudio.gui.training.live import LiveToggle, PreviewGate
from segstudio.gui.training.loss_plot import LossPlot
from segstudio.gui.training.metrics_follower import records_to_events
from segstudio.gui.training.multi_gpu import MultiGpuRun, torchrun_command
from segstudio.gui.training.prediction import PredictedImage, PredictionService
from segstudio.gui.training.predictions_box import PredictionsBox
from segstudio.gui.training.runs_list import RunsList, read_run
from segstudio.gui.training.settings_form import TrainSettingsForm
from segstudio.session import Session

if TYPE_CHECKING:  # imported at first use: the worker pulls in numpy (startup stays fast)
    from segstudio.gui.training.worker import TrainingController

log = logging.getLogger(__name__)
READY_TEXT = "Ready: click Train to learn from the labeled images."


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(v, digits: int) -> str:
    return "–" if v is None else f"{float(v):.{digits}f}"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def ask_stop_training(parent: QWidget) -> bool:
    """Ask whether to stop the running training and close (tests replace this on the panel)."""
    return Questions(parent).confirm("Training is running",
                                     "A training is running. Stop it and close? The last checkpoint is kept.")


class TrainingPanel(QWidget):
    """Everything about training and predicting, for the session's project."""

    predictionShown = Signal(str)  # image id whose prediction was handed to the session
    trainingFinished = Signal(str)  # "completed" | "cancelled" | "failed"
    runningChanged = Signal(bool)  # a training started / ended
    liveChanged = Signal(bool)  # live training started / ended (the autosaver saves strokes promptly meanwhile)

    def __init__(self, session: Session, runner: JobRunner, errors: ErrorReporter, save_edits: Callable[[], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.errors, self.save_edits = session, runner, errors, save_edits
        #: ask before closing the window while training (tests set False)
        self.confirm_close = True
        self.ask_stop = ask_stop_training
        self.predictions_received = 0
        self.masks_saved_during_run = 0
        self.edits_picked = 0  # saved edits the live trainer has drawn crops of
        self._train_start = None
        self._training_root: Path | None = None
        self._live = False
        self._t0 = 0.0
        self._rate_start: tuple[float, int] | None = None
        self._ddp: MultiGpuRun | None = None
        self._controller: TrainingController | None = None  # built on first use (see ``controller``)
        self.prediction = PredictionService(runner, self._on_predicted, self._on_predict_failed)
        self.preview_gate = PreviewGate()
        self._build_ui()
        self.form.restore_settings()
        self.live = LiveToggle(self.live_check, self.start_training, self.stop_training, self.is_training,
                               lambda: self._live, self)
        self.live.liveChanged.connect(self.liveChanged)
        self._connect()
        self._set_running(False)

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.form = TrainSettingsForm(self.runner)
        row = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a model on the labeled images (Ctrl+Shift+T)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the last checkpoint is kept")
        row.addWidget(self.train_button)
        row.addWidget(self.stop_button)
        self.live_check = self.form.live_check  # here, not in the form: it stays usable while a training runs
        row.addWidget(self.live_check)
        outer.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        outer.addWidget(self.progress)
        self.status_label = QLabel(READY_TEXT)
        self.status_label.setWordWrap(True)
        # fixed height: a new status text (every epoch) must not re-layout the whole dock
        self.status_label.setFixedHeight(self.status_label.fontMetrics().lineSpacing() * 3 + 4)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        outer.addWidget(self.status_label)
        self.error_box = ErrorBox()
        outer.addWidget(self.error_box)
        self.predictions_box = PredictionsBox(self.session, self.runner, self.errors, self.status_label.setText)
        box = self.predictions_box
        self.accept_button, self.accept_mode_combo = box.accept_button, box.accept_mode_combo
        self.predict_all_button, self.predict_all_progress = box.predict_all_button, box.predict_all_progress
        outer.addWidget(box)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.form, "Settings")
        self.loss_plot = LossPlot()
        self.tabs.addTab(self.loss_plot, "Curves")
        self.runs_list = RunsList()
        self.tabs.addTab(self.runs_list, "Runs")
        outer.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.runs_list.checkpointChosen.connect(self.use_checkpoint)
        self.runs_list.refreshed.connect(lambda: self.form.start_from.set_runs(
            [(r.name, r.preferred_checkpoint) for r in self.runs_list.runs if r.preferred_checkpoint]))
        ev = self.session.events
        ev.connect("project_changed", self._on_project_changed)
        ev.connect("image_changed", self._on_image_changed)
        ev.connect("mask_saved", self._on_mask_saved)
        ev.connect("model_changed", lambda path: self.runs_list.set_active_checkpoint(path, refresh=False))
        ev.connect("model_status", self.status_label.setText)

    @property
    def controller(self) -> TrainingController:
        """The in-process training controller, created (and the worker module imported) on first use."""
        if self._controller is None:
            from segstudio.gui.training.worker import TrainingController

            c = self._controller = TrainingController(self.runner, self)
            c.runningChanged.connect(self._on_running_changed)
            c.started.connect(self._on_train_start)
            c.steps.connect(self._on_steps)
            c.epochEnded.connect(self._on_epoch)
            c.preview.connect(self._on_preview)
            c.checkpointSaved.connect(self._on_checkpoint)
            c.batchSizeReduced.connect(self._on_batch_size_reduced)
            c.liveDataPicked.connect(self._on_live_data)
            c.warning.connect(self._on_warning)
            c.ended.connect(self._on_end)
        return self._controller

    # ------------------------------------------------------------------ state
    def is_training(self) -> bool:
        running = self._controller is not None and self._controller.is_running()
        return running or (self._ddp is not None and self._ddp.is_running())

    def is_busy(self) -> bool:
        return self.is_training() or self.predictions_box.is_running()

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.train_button.setText(("Training live…" if self._live else "Training…") if running else "Train")
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        self.runningChanged.emit(running)

    def _on_project_changed(self, project) -> None:
        """Another project: its runs and newest checkpoint; nothing of the old one stays (a training of it stops)."""
        other = project is None or Path(project.root) != self._training_root
        if self.is_training() and other:
            self.stop_training()
        if other or not self.is_training():
            self.live.reset()  # another project starts with live training unticked (and stopped)
        self.preview_gate.forget()
        self.prediction.forget()
        self.error_box.clear()
        if not self.is_training():
            self.loss_plot.clear()
            self.progress.setValue(0)
            self.progress.setFormat("idle")
        self.status_label.setText(READY_TEXT)
        self.runs_list.set_runs_dir(project.runs_dir if project is not None else None)
        newest = next((r for r in self.runs_list.runs if r.preferred_checkpoint), None)
        if project is not None:
            self.session.set_checkpoint(newest.preferred_checkpoint if newest is not None else None)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.form.detect_if_engine_loaded()

    # ------------------------------------------------------------------ training
    @Slot()
    def start_training(self) -> bool:
        """Start training with the form's settings (in-process worker, or torchrun for several GPUs)."""
        if self.is_training():
            self.status_label.setText("A training is already running: Stop it first.")
            return False
        project = self.session.project
        if project is None:
            self.error_box.show_error("Open a project first.")
            return False
        if not self.save_edits():  # the trainer reads the masks from disk
            self.status_label.setText("Some edits could not be saved; training uses the masks on disk.")
        if not project.labeled_images():
            self.error_box.show_error("No labeled images yet: paint a few strokes on an image, then train.")
            return False
        self.error_box.clear()
        self.loss_plot.clear()
        self.masks_saved_during_run = 0
        self.preview_gate.forget()
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
        log.info("training %s on %s", config.get("model"), project.root)
        nproc = self.form.multi_gpu_count()
        if nproc > 1:
            return self._start_multi_gpu(nproc, project, config)
        self.form.detect_devices()
        self.controller.start(project.root, config, self.session.current_id)
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

    def _run_ended(self) -> None:
        """A run has ended: the live box follows (or the live run a switch waited for starts)."""
        was_live, self._live = self._live, False
        self.live.training_ended(was_live)

    def is_live(self) -> bool:
        """An in-process live training runs (strokes and the image on screen reach its trainer)."""
        return self._live and self._controller is not None and self._controller.is_running()

    def _same_project(self) -> bool:
        project = self.session.project
        return project is not None and self._training_root is not None and Path(project.root) == self._training_root

    def _on_train_start(self, ev) -> None:
        self._train_start = ev
        if not self._same_project():
            return
        self.status_label.setText(
            f"Training {ev.model} on {plural(ev.num_train, 'image')} ({ev.num_val} for validation), {ev.device}, "
            f"{ev.precision}" + (" — live: each finished stroke joins at once" if self._live else ""))
        self.runs_list.refresh()

    def _on_steps(self, points, last) -> None:
        if not self._same_project():
            return
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
            text += f" · {format_duration((total - last.global_step) * (now - t_start) / done)} left"
        self.progress.setFormat(text)
        if live:  # no end: the bar shows the progress through the current epoch
            self.progress.setValue(min(1000, (last.step + 1) * 1000 // max(1, steps_per_epoch or 1)))
        else:
            self.progress.setValue(min(1000, int(1000 * (last.global_step + 1) / total)))

    def _on_epoch(self, ev) -> None:
        if not self._same_project():
            return
        self.loss_plot.add_epoch(ev.epoch + 1, ev.train_loss, ev.val_loss, ev.miou)
        extra = f" · {plural(self.masks_saved_during_run, 'mask')} saved meanwhile" if self._live else ""
        self.status_label.setText(f"Epoch {ev.epoch + 1}: train loss {_fmt(ev.train_loss, 4)}, val loss "
                                  f"{_fmt(ev.val_loss, 4)}, mIoU {_fmt(ev.miou, 3)} ({ev.seconds:.1f} s){extra}")

    def _on_preview(self, ev) -> None:
        """A preview of the running training: shown when it is of the image on screen and newer than
        what is shown (previews arrive coalesced, latest wins, through the relay)."""
        if self._training_root is None or not self._same_project():
            return
        if not self.preview_gate.accept(ev.image_id, (float(ev.global_step), float(ev.wall_time)),
                                        self.session.current_id):
            return
        if self.session.set_prediction(ev.image_id, ev.mask, ev.confidence, project_root=self._training_root):
            self.predictions_received += 1
            self.predictionShown.emit(ev.image_id)

    def _on_checkpoint(self, ev) -> None:
        if self._same_project():
            self.session.set_checkpoint(ev.path)

    def _on_batch_size_reduced(self, ev) -> None:
        if self._same_project():
            self.status_label.setText(f"Batch size reduced from {ev.old} to {ev.new}: {ev.reason}")

    def _on_live_data(self, ev) -> None:
        self.edits_picked += 1
        if self._same_project():
            self.status_label.setText(f"Your edit of {ev.image_id} joined the training at step {ev.global_step + 1}.")

    def _on_warning(self, message: str) -> None:
        log.warning("training: %s", message)
        if self._same_project():
            self.status_label.setText(f"Warning: {message}")

    def _on_end(self, ev) -> None:
        status = getattr(ev, "status", "failed")
        best = getattr(ev, "best_miou", None)
        elapsed = format_duration(time.monotonic() - self._t0)
        log.info("training ended (%s): %s", status, getattr(ev, "message", ""))
        if status == "failed":  # shown in the panel's error box; the log gets the traceback
            log.error("training failed: %s%s", ev.message, "\n" + ev.traceback if getattr(ev, "traceback", None) else "")
        if self._same_project():
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
        self._run_ended()  # last: it may start the live run a switch waited for

    # ------------------------------------------------------------------ multi-GPU (torchrun subprocess)
    def _start_multi_gpu(self, nproc: int, project, config: dict) -> bool:
        run_dir = project.runs_dir / time.strftime("%Y%m%d-%H%M%S-ddp")
        program, args = torchrun_command(nproc, project.root, config, run_dir)
        return self.start_external_run(run_dir, program, args)

    def start_external_run(self, run_dir: Path, program: str, args: list[str]) -> bool:
        """Run a training subprocess and follow RUN_DIR/metrics.jsonl (used for torchrun; tests pass a fake)."""
        if self.is_training() or self.session.project is None:
            return False
        self._training_root = Path(self.session.project.root)
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

    def _on_records(self, records: list) -> None:
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
        ev = SimpleNamespace(status=status, message=f"the training process exited with status {code}",
                             traceback=ddp.output_text() if ddp else None, run_dir=ddp.run_dir if ddp else None,
                             best_miou=read_run(ddp.run_dir).best_miou if ddp else None)
        self._on_end(ev)

    # ------------------------------------------------------------------ predictions
    def use_checkpoint(self, path, predict_now: bool = True) -> None:
        """Make ``path`` the checkpoint that predicts for this project (and predict the image on screen)."""
        self.session.set_checkpoint(path)
        self.runs_list.set_active_checkpoint(path)
        if predict_now:
            self.predict_current()

    def predict_current(self) -> bool:
        """Predict the image on screen in the background with the project's checkpoint."""
        session = self.session
        if session.project is None or session.model is None or not session.current_id:
            return False
        return self.prediction.request(session.current_id, session.image_path(session.current_id),
                                       session.model.checkpoint, session.project.root)

    def _on_image_changed(self, image_id: str | None) -> None:
        if self._controller is not None:
            self._controller.set_preview_image(image_id)  # a live run predicts it next, at its next step
        if image_id and not self.is_live():
            self.predict_current()

    def _on_mask_saved(self, image_id: str, _status) -> None:
        if self.is_training():
            self.masks_saved_during_run += 1
        if self.is_live() and self._same_project():
            self._controller.mark_changed(image_id, self.session.saved_box(image_id))

    def _on_predicted(self, result: PredictedImage) -> None:
        if self.session.set_prediction(result.image_id, result.mask, result.confidence,
                                       project_root=result.project_root):
            self.predictions_received += 1
            self.session.set_uncertainty(result.image_id, result.entropy, project_root=result.project_root)
            self.predictionShown.emit(result.image_id)

    def _on_predict_failed(self, image_id: str, message: str, trace: str) -> None:
        self.errors.report(f"Could not predict {image_id}: {message}", trace)

    def accept_prediction(self, mode: str | None = None) -> bool:
        """Copy the prediction into the current mask ("unlabeled" pixels only, or "all"); one undo step."""
        return self.predictions_box.accept_prediction(mode)

    @Slot()
    def predict_all(self) -> bool:
        """Predict every image in the background (see ``PredictionsBox.predict_all``)."""
        return self.predictions_box.predict_all()

    # ------------------------------------------------------------------ closing
    def may_close(self) -> bool:
        """Closing the window while training: ask (unless ``confirm_close`` is off)."""
        return not (self.is_training() and self.confirm_close and not self.ask_stop(self))

    def rebuild_plot_if_visible(self) -> None:
        if self.isVisible() and self.loss_plot.graphics is None:
            self.loss_plot.rebuild()

    def shutdown(self, timeout_s: float = 15.0) -> None:
        """Stop what runs in the background of this panel (the window's runner joins the threads)."""
        if self._controller is not None:
            self._controller.shutdown()
        if self._ddp is not None:
            self._ddp.wait(int(timeout_s * 1000))
        self.predictions_box.job.forget()
        self.prediction.forget()
        # pyqtgraph widgets must not outlive the window into interpreter teardown (it can crash)
        self.loss_plot.dispose()
