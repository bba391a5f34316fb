"""Closing the main window while training: ask, then stop the background work cleanly."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget


def ask_stop_training(parent: QWidget) -> bool:
    """Ask whether to stop the running training and close (tests monkeypatch this)."""
    answer = QMessageBox.question(
        parent, "Training is running",
        "A training is running. Stop it and close? The last checkpoint is kept.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class CloseGuard(QObject):
    """Event filter on the main window: on Close, asks while training (unless ``panel.confirm_close`` is
    False), then cancels and joins every worker thread so nothing outlives the window."""

    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Close:
            panel = self.panel
            if panel.is_training() and panel.confirm_close and not ask_stop_training(panel.mw):
                event.ignore()
                return True
            panel.shutdown()
            # pyqtgraph widgets must not outlive the window into interpreter teardown (it can crash);
            # they are rebuilt if the window's own closeEvent cancels the close
            panel.loss_plot.dispose()
            QTimer.singleShot(0, panel.rebuild_plot_if_visible)
        return False
