"""Autosave: save ~1 s after the last edit, retry while saving fails, journal unsaved edits for recovery.
While live training runs (``set_prompt(True)``) a finished stroke is saved after ~0.25 s, so it reaches
the trainer at once.

The session does the saving; this only decides when (Qt timers) and reports failures once each.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from segstudio.gui.errors import ErrorReporter
from segstudio.session import Session
from segstudio.session.recovery import INTERVAL_MS

DEBOUNCE_MS = 1000
#: the debounce while live training runs: a stroke joins the training data as soon as it is released
PROMPT_DEBOUNCE_MS = 250
RETRY_MS = 5000


class AutoSaver(QObject):
    """Saves the session's edits when they pause; retries while it fails; journals them meanwhile."""

    def __init__(self, session: Session, errors: ErrorReporter, debounce_ms: int = DEBOUNCE_MS,
                 retry_ms: int = RETRY_MS, journal_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.errors = session, errors
        self.debounce_ms = debounce_ms
        self.timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self.timer.timeout.connect(self.flush)
        self.retry_timer = QTimer(self, singleShot=True, interval=retry_ms)
        self.retry_timer.timeout.connect(self.flush)
        self.journal_timer = QTimer(self, interval=journal_ms)
        self.journal_timer.timeout.connect(lambda: self.session.write_journal())
        self.journal_timer.start()
        self.failures = 0
        session.events.connect("document_edited", lambda _image_id: self.schedule())

    def set_prompt(self, on: bool) -> None:
        """Live training runs (True): save finished strokes after PROMPT_DEBOUNCE_MS instead of the debounce."""
        self.timer.setInterval(min(self.debounce_ms, PROMPT_DEBOUNCE_MS) if on else self.debounce_ms)

    def schedule(self) -> None:
        """An edit happened: (re)start the debounce."""
        self.timer.start()

    @property
    def pending(self) -> bool:
        return self.timer.isActive() or self.retry_timer.isActive()

    def flush(self) -> bool:
        """Save now (mid-stroke: wait for the pause); on failure report it and schedule a retry."""
        self.timer.stop()
        self.retry_timer.stop()
        doc = self.session.current_document
        if doc is not None and doc.in_edit:
            self.timer.start()
            return True
        return self.save_now()

    def save_now(self) -> bool:
        """Save every dirty mask now; False (error shown once, edits kept, retry scheduled) if any failed."""
        failures = self.session.save_all()
        if not failures:
            self.failures = 0
            self.retry_timer.stop()
            self.errors.clear(prefix="cannot save")
            return True
        self.failures += 1
        if self.failures == 1 or self.errors.last_error != failures[0][1]:
            self.errors.report(failures[0][1])
        if not self.timer.isActive():
            self.retry_timer.start()
        return False

    def stop(self) -> None:
        self.timer.stop()
        self.retry_timer.stop()
        self.journal_timer.stop()
