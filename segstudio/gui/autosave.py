"""Debounced autosave: save ~1 s after the last edit, retry later after a failure."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer

DEBOUNCE_MS = 1000
RETRY_MS = 5000


class AutoSaver(QObject):
    """Calls ``save()`` (returns True on success) when edits pause; retries while it fails."""

    def __init__(self, save: Callable[[], bool], debounce_ms: int = DEBOUNCE_MS, retry_ms: int = RETRY_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self.timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self.timer.timeout.connect(self.flush)
        self.retry_timer = QTimer(self, singleShot=True, interval=retry_ms)
        self.retry_timer.timeout.connect(self.flush)
        self.failures = 0

    def schedule(self) -> None:
        """An edit happened: (re)start the debounce."""
        self.timer.start()

    @property
    def pending(self) -> bool:
        return self.timer.isActive() or self.retry_timer.isActive()

    def flush(self) -> bool:
        """Save now; on failure schedule a retry."""
        self.timer.stop()
        self.retry_timer.stop()
        ok = self._save()
        if ok:
            self.failures = 0
        else:
            self.failures += 1
            self.retry_timer.start()
        return ok

    def stop(self) -> None:
        self.timer.stop()
        self.retry_timer.stop()
