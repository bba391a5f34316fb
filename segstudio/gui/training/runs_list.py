"""Past training runs (PROJECT/runs/<id>), read through :mod:`segstudio.core.run_records`; pick the
checkpoint that predicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from segstudio.core.run_records import RunInfo, read_run, scan_runs

__all__ = ["RunInfo", "RunsList", "read_run", "scan_runs"]


class RunsList(QWidget):
    """Table of past runs with "Use best" / "Use last" buttons choosing the checkpoint for predictions."""

    checkpointChosen = Signal(object)  # Path
    refreshed = Signal()  # the runs were re-read

    COLUMNS = ("run", "model", "epochs", "best mIoU", "status", "started from", "date")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_dir: Path | None = None
        self.runs: list[RunInfo] = []
        self.active_checkpoint: Path | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self.use_selected("best"))
        layout.addWidget(self.tree)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.use_best_button = QPushButton("Predict with best")
        self.use_best_button.setToolTip("Use this run's best checkpoint (highest validation mIoU) for predictions")
        self.use_best_button.clicked.connect(lambda: self.use_selected("best"))
        self.use_last_button = QPushButton("Predict with last")
        self.use_last_button.setToolTip("Use this run's most recent checkpoint for predictions")
        self.use_last_button.clicked.connect(lambda: self.use_selected("last"))
        for b in (self.refresh_button, self.use_best_button, self.use_last_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.active_label = QLabel("Predictions: no model yet")
        self.active_label.setWordWrap(True)
        layout.addWidget(self.active_label)
        self._update_buttons()

    def set_runs_dir(self, runs_dir: str | Path | None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir else None
        self.refresh()

    def refresh(self) -> None:
        """Re-read the runs folder."""
        selected = self.selected_run()
        self.runs = scan_runs(self.runs_dir) if self.runs_dir else []
        self.tree.clear()
        for run in self.runs:
            epochs = f"{run.epochs_done}/{run.epochs_planned}" if run.epochs_planned else str(run.epochs_done)
            miou = f"{run.best_miou:.3f}" if run.best_miou is not None else "–"
            date = datetime.fromtimestamp(run.modified).strftime("%Y-%m-%d %H:%M") if run.modified else ""
            start = Path(run.init_from).name if run.init_from else "scratch"
            item = QTreeWidgetItem([run.name, run.model, epochs, miou, run.status, start, date])
            if run.init_from:
                item.setToolTip(5, run.init_from + (f"\nsha256 {run.init_sha256}" if run.init_sha256 else ""))
            item.setData(0, Qt.ItemDataRole.UserRole, str(run.path))
            if self.active_checkpoint is not None and self.active_checkpoint.parent == run.path:
                font = item.font(0)
                font.setBold(True)
                for c in range(len(self.COLUMNS)):
                    item.setFont(c, font)
            self.tree.addTopLevelItem(item)
            if selected is not None and run.path == selected.path:
                item.setSelected(True)
        self._update_buttons()
        self.refreshed.emit()

    def selected_run(self) -> RunInfo | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        path = Path(items[0].data(0, Qt.ItemDataRole.UserRole))
        return next((r for r in self.runs if r.path == path), None)

    def select_run(self, run_dir: str | Path) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if Path(item.data(0, Qt.ItemDataRole.UserRole)) == Path(run_dir):
                self.tree.clearSelection()
                item.setSelected(True)
                return True
        return False

    def use_selected(self, kind: str = "best") -> Path | None:
        """Choose the selected run's ``kind`` checkpoint (falls back to the other) for predictions."""
        run = self.selected_run()
        if run is None:
            return None
        path = run.checkpoints.get(kind) or run.preferred_checkpoint
        if path is None:
            return None
        self.set_active_checkpoint(path)
        self.checkpointChosen.emit(path)
        return path

    def set_active_checkpoint(self, path: str | Path | None, refresh: bool = True) -> None:
        """Show which checkpoint makes predictions (no signal); ``refresh`` re-reads the runs folder."""
        self.active_checkpoint = Path(path) if path else None
        if self.active_checkpoint is None:
            self.active_label.setText("Predictions: no model yet")
        else:
            self.active_label.setText(f"Predictions: {self.active_checkpoint.parent.name}/{self.active_checkpoint.name}")
        if refresh:
            self.refresh()

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self.use_best_button.setEnabled(bool(run and "best" in run.checkpoints))
        self.use_last_button.setEnabled(bool(run and "last" in run.checkpoints))

