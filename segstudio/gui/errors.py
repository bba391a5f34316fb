"""How the window shows problems: one line in the status bar, a non-modal box, the traceback in the log.

Every error a user sees goes through :meth:`ErrorReporter.report`, which logs it (with the traceback
when there is one), so the log file the About dialog points to holds everything that went wrong.
:func:`install_excepthook` routes uncaught exceptions (a bug in a slot, say) to the same place instead
of only to a console that a desktop app does not have.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from segstudio.gui.status_bar import StatusBar

log = logging.getLogger("segstudio.gui")


class ErrorReporter(QObject):
    """Shows errors without blocking the window; ``reported(message)`` follows each one."""

    reported = Signal(str)

    def __init__(self, status_bar: StatusBar, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.status_bar = status_bar
        self.dialog_parent = dialog_parent
        #: show a message box besides the status bar line (tests turn it off)
        self.show_dialogs = True
        self.last_error: str | None = None
        self._box: QMessageBox | None = None

    def report(self, message: str, details: str | None = None) -> None:
        """Show ``message`` (one line naming what is wrong); ``details`` (a traceback) goes to the log and
        behind the box's "Show Details"."""
        if details:
            log.error("%s\n%s", message, details.rstrip())
        else:
            log.error("%s", message)
        self.last_error = message
        self.status_bar.show_error(message)
        self.reported.emit(message)
        if self.box_visible():
            self._box.setText(message)  # type: ignore[union-attr]
            return
        if not self.show_dialogs:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "segstudio", message, QMessageBox.StandardButton.Ok,
                          self.dialog_parent)
        if details:
            box.setDetailedText(details)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.destroyed.connect(self._forget_box)
        box.show()
        self._box = box

    def report_exception(self, what: str, exc: BaseException) -> None:
        """Report ``what`` failed because of ``exc`` (traceback to the log)."""
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.report(f"{what}: {exc}" if what else str(exc), details)

    def clear(self, prefix: str | None = None) -> None:
        """Clear the status-bar error (only when it starts with ``prefix``, if given)."""
        if prefix is not None and not (self.last_error or "").startswith(prefix):
            return
        self.last_error = None
        self.status_bar.clear_error()

    def box_visible(self) -> bool:
        try:
            return self._box is not None and self._box.isVisible()
        except RuntimeError:  # deleted on close
            self._box = None
            return False

    def close_box(self) -> None:
        if self.box_visible():
            self._box.close()  # type: ignore[union-attr]

    def _forget_box(self, *_args) -> None:
        self._box = None


_reporter: ErrorReporter | None = None


def install_excepthook(reporter: ErrorReporter) -> None:
    """Log every uncaught exception with its traceback and show it in the window (it keeps running)."""
    global _reporter
    _reporter = reporter
    if getattr(sys.excepthook, "_segstudio", False):
        return
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        details = "".join(traceback.format_exception(kind, exc, tb))
        reporter_now = _reporter
        try:
            if reporter_now is not None:
                reporter_now.report(f"Unexpected error: {kind.__name__}: {exc} (details in the log)", details)
            else:
                log.error("uncaught exception\n%s", details)
        except RuntimeError:  # the window is gone
            log.error("uncaught exception\n%s", details)

    hook._segstudio = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def forget_reporter(reporter: ErrorReporter) -> None:
    """The window closed: uncaught exceptions only go to the log from now on."""
    global _reporter
    if _reporter is reporter:
        _reporter = None
