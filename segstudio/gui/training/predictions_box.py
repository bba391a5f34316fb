"""The training dock's "Predictions" group: Accept prediction (with its mode) and Predict all.

``PredictionsBox`` owns the buttons and the background "Predict all" job; it reads the project, the
checkpoint, the error box and the status line from the training panel it belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout

if TYPE_CHECKING:  # imported at first use: the worker pulls in numpy (startup stays fast)
    from segstudio.gui.training.panel import TrainingPanel
    from segstudio.gui.training.predict_all import PredictAllJob

ACCEPT_MODES = [("unlabeled", "unlabeled pixels only"), ("all", "everywhere")]


class PredictionsBox(QGroupBox):
    """Accept the prediction into the mask, and predict every image in the background."""

    def __init__(self, panel: TrainingPanel) -> None:
        super().__init__("Predictions")
        self.panel = panel
        self.job: PredictAllJob | None = None  # the running "Predict all", if any
        pb = QVBoxLayout(self)
        arow = QHBoxLayout()
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setToolTip("Copy the prediction into the mask (Ctrl+Shift+A); undoable")
        self.accept_mode_combo = QComboBox()
        for value, label in ACCEPT_MODES:
            self.accept_mode_combo.addItem(label, value)
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

    def accept_prediction(self, mode: str | None = None) -> None:
        """Copy the prediction into the current mask ("unlabeled" pixels only, or "all"); one undo step."""
        mode = mode or self.accept_mode_combo.currentData()
        self.panel.mw.accept_prediction(mode)

    def is_running(self) -> bool:
        """Whether a "Predict all" is running."""
        return self.job is not None and self.job.running

    @Slot()
    def predict_all(self) -> bool:
        """Predict every image in the background (a second call cancels); stores predictions and uncertainties."""
        panel = self.panel
        project = panel.project
        ckpt = panel.prediction.checkpoint
        if project is None or ckpt is None or not ckpt.is_file():
            panel.error_box.show_error("No model yet: train first, or pick a run under Runs.")
            return False
        if self.job is not None and self.job.running:
            self.job.cancel()
            return False
        ids = [project.image_id(p) for p in project.list_images()]
        from segstudio.gui.training.predict_all import PredictAllJob

        job = PredictAllJob(project.root, ids, ckpt, parent=panel)
        job.imageDone.connect(self._on_image)
        job.imageFailed.connect(lambda iid, msg: panel.status_label.setText(f"Could not predict {iid}: {msg}"))
        job.finished.connect(self._on_finished)
        self.job = job
        self.predict_all_progress.setRange(0, max(1, len(ids)))
        self.predict_all_progress.setValue(0)
        self.predict_all_progress.setVisible(True)
        self.predict_all_button.setText("Cancel predict all")
        job.start()
        return True

    def _on_image(self, index: int, total: int, image_id: str, mask, entropy: float) -> None:
        self.predict_all_progress.setValue(index)
        self.predict_all_progress.setFormat(f"{index}/{total}")
        mw = self.panel.mw
        self.panel.predictions_received += 1
        mw.set_prediction(image_id, mask, None)
        if hasattr(mw, "set_uncertainty"):
            mw.set_uncertainty(image_id, float(entropy))

    def _on_finished(self, done: int, cancelled: bool, error: str) -> None:
        self.predict_all_button.setText("Predict all")
        self.predict_all_progress.setVisible(False)
        if error:
            self.panel.error_box.show_error("Predict all failed: " + error.strip().splitlines()[-1], error)
        else:
            self.panel.status_label.setText(f"Predicted {done} images" + (" (cancelled)." if cancelled else "; "
                                            "the browser can sort them by uncertainty."))
        if self.job is not None:
            self.job.deleteLater()
            self.job = None

    def shutdown(self, timeout_ms: int) -> None:
        """Cancel a running "Predict all" and join its thread (window close, app quit)."""
        if self.job is not None:
            self.job.shutdown(timeout_ms)
