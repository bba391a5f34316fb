"""Application entry: QApplication, theme, main window on the given, last, or demo project."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from segstudio.gui import settings as app_settings


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused if one exists), Fusion style, palette following the system scheme."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(app_settings.ORGANIZATION)
    app.setApplicationName(app_settings.APPLICATION)
    app.setApplicationDisplayName("segstudio")
    from segstudio.gui.about_dialog import set_app_identity
    from segstudio.gui.theme import apply_theme, follow_system_scheme

    set_app_identity()

    forced = os.environ.get("SEGSTUDIO_THEME", "").lower()  # "dark" / "light" override the system scheme
    apply_theme(app, dark={"dark": True, "light": False}.get(forced))
    if forced not in ("dark", "light"):
        follow_system_scheme(app)
    return app


def _demo_path() -> Path:
    from segstudio.core.demo import ensure_demo_project

    return Path(ensure_demo_project())


def open_startup_project(window, project_path: str | Path | None = None) -> bool:
    """Open PROJECT, else the last project, else the demo, in ``window`` (and build its deferred menus).

    A project that cannot be opened is reported in the window and the demo opens instead. True when
    some project is open afterwards.
    """
    window.finish_startup()
    target = project_path if project_path is not None else app_settings.last_project()
    if target is not None and window.open_project(target):
        return True
    error = window.last_error
    if not window.open_project(_demo_path()):
        return False
    if error:
        window.errors.report(f"{error} — opened the demo project instead")
    return True


def create_main_window(project_path: str | Path | None = None):
    """A MainWindow (not yet shown) on PROJECT, else the last project, else the demo project (all opened
    before it returns; tests rely on that). ``run_app`` instead shows the window first, see :func:`start_app`.
    """
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    open_startup_project(window, project_path)
    return window


def start_app(project: str | None, open_now: bool = False):
    """Everything ``run_app`` does before the event loop; returns (app, window).

    The real main window (menus, docks, training panel) is shown first; the project and its first image
    (which need numpy, Pillow and OpenCV) are opened in the first turn of the event loop, right after the
    window is on screen, so the window appears quickly. ``open_now`` opens them before returning instead.
    """
    app = create_application()
    from segstudio.gui.main_window import MainWindow

    window = MainWindow(defer_import_export=True)
    if open_now:
        window.show()
        open_startup_project(window, project)
    else:
        _AfterFirstPaint(window, lambda: open_startup_project(window, project))
        window.show()
    return app, window


class _AfterFirstPaint(QObject):
    """Calls ``then`` in the event-loop turn after ``window`` first painted (or after FALLBACK_MS at the latest)."""

    FALLBACK_MS = 1000  # a window that never gets painted (minimised, odd platform) still opens its project

    def __init__(self, window: QWidget, then) -> None:
        super().__init__(window)
        self._then = then
        self._done = False
        window.installEventFilter(self)
        QTimer.singleShot(self.FALLBACK_MS, self, self._fire)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if not self._done and event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._fire)
        return False

    def _fire(self) -> None:
        if not self._done:
            self._done = True
            self._then()


def run_app(project: str | None, self_test: bool = False) -> int:
    """Run the desktop app; returns the exit status."""
    app, window = start_app(project, open_now=self_test)
    if self_test:
        from segstudio.gui.self_test import run_self_test

        return int(run_self_test(window))
    from segstudio.gui.getting_started import show_on_first_start

    QTimer.singleShot(0, window, lambda: show_on_first_start(window))  # the tour, once, on the very first start
    return int(app.exec())
