"""The training dock's "Predictions" group: Accept prediction (with its mode) and Predict all.

Accepting goes through the session (one undo step, refusing class ids the project lacks); "Predict all"
runs on the job runner and feeds every image's prediction and uncertainty to the session, for the
project it was started in only.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout

from segstudio.core.errors import SegstudioError
from segstudio.gui.errors import ErrorReporter
from segstudio.gui.jobs import JobRunner
from segstudio.gui.training.predict_all import PredictAllJob, PredictAllProgress, PredictAllResult
from segstudio.session import Session
from segstudio.session.session import ACCEPT_MODES

ACCEPT_MODE_LABELS = {"unlabeled": "unlabeled pixels only", "all": "everywhere"}


class PredictionsBox(QGroupBox):
    """Accept the prediction into the mask, and predict every image in the background."""

    def __init__(self, session: Session, runner: JobRunner, errors: ErrorReporter,
                 show_status: Callable[[str], None]) -> None:
        super().__init__("Predictions")
        self.session, self.errors, self.show_status = session, errors, show_status
        self.predictions_received = 0
        self.job = PredictAllJob(runner, self._on_image, self._on_finished, self._on_error)
        pb = QVBoxLayout(self)
        arow = QHBoxLayout()
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setToolTip("Copy the prediction into the mask (Ctrl+Shift+A); undoable")
        self.accept_mode_combo = QComboBox()
        for value in ACCEPT_MODES:
            self.accept_mode_combo.addItem(ACCEPT_MODE_LABELS[value], value)
        self.accept_mode_combo.setToolTip("Which pixels of the mask the prediction may overwrite")
        arow.addWidget(self.accept_button)
        arow.addWidget(self.accept_mode_combo, 1)
        pb.addLayout(arow)
        prow = QHBoxLayout()
        self.predict_all_button = QPushButton("Predict all")
        self.predict_all_button.setToolTip("Predict every image in the background and rank them by uncertainty")
        self.predict_all_progress = QProgressBar()
        self.predict_all_progress.setVisible(False)
        prow.addWidget(self.predict_all_button)
        prow.addWidget(self.predict_all_progress, 1)
        pb.addLayout(prow)
        self.accept_button.clicked.connect(lambda: self.accept_prediction())
        self.predict_all_button.clicked.connect(self.predict_all)
        session.events.connect("project_changed", self._on_project_changed)

    def accept_prediction(self, mode: str | None = None) -> bool:
        """Copy the prediction into the current mask ("unlabeled" pixels only, or "all"); one undo step."""
        mode = mode or self.accept_mode_combo.currentData()
        try:
            changed = self.session.accept_prediction(mode)
        except SegstudioError as exc:
            self.errors.report(str(exc))
            return False
        if not changed:
            self.show_status("No prediction to accept for this image." if self.session.prediction() is None
                             else "The prediction adds nothing to this mask.")
        return changed

    def is_running(self) -> bool:
        """Whether a "Predict all" is running."""
        return self.job.running

    @Slot()
    def predict_all(self) -> bool:
        """Predict every image in the background (a second call stops it); stores predictions and uncertainties."""
        project = self.session.project
        ckpt = self.session.model.checkpoint if self.session.model is not None else None
        if self.job.running:
            self.job.cancel()
            self.predict_all_button.setText("Stopping…")
            return False
        if project is None or ckpt is None or not ckpt.is_file():
            self.errors.report("No model yet: train first, or pick a run under Runs.")
            return False
        ids = list(self.session.image_ids)
        self.predictions_received = 0
        self.predict_all_progress.setRange(0, max(1, len(ids)))
        self.predict_all_progress.setValue(0)
        self.predict_all_progress.setVisible(True)
        self.predict_all_button.setText("Cancel predict all")
        self.job.start(project.root, ids, ckpt)
        return True

    def _on_image(self, p: PredictAllProgress) -> None:
        self.predict_all_progress.setValue(p.index)
        self.predict_all_progress.setFormat(f"{p.index}/{p.total}")
        root = self.job.project_root
        if p.error:
            self.show_status(f"Could not predict {p.error}")
            return
        self.predictions_received += 1
        self.session.set_prediction(p.image_id, p.mask, None, project_root=root)
        self.session.set_uncertainty(p.image_id, p.entropy, project_root=root)

    def _on_finished(self, result: PredictAllResult) -> None:
        self._reset_buttons()
        text = f"Predicted {result.done} of {result.total} image{'s' if result.total != 1 else ''}"
        text += " (stopped)." if result.cancelled else "; sort the images by uncertainty to pick the next to label."
        if result.failures:
            text += f" {len(result.failures)} could not be predicted (see the log)."
        if self.session.model is not None and self.job.project_root == self.session.project.root:
            self.session.set_model_status(text)

    def _on_error(self, message: str, trace: str) -> None:
        self._reset_buttons()
        self.errors.report(f"Predict all failed: {message}", trace)

    def _on_project_changed(self, _project) -> None:
        self.job.forget()
        self._reset_buttons()

    def _reset_buttons(self) -> None:
        self.predict_all_button.setText("Predict all")
        self.predict_all_progress.setVisible(False)
