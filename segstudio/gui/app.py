"""Application entry: QApplication, theme, main window on the given, last, or demo project."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from segstudio.gui import settings as app_settings


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused if one exists), Fusion style, palette following the system scheme."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(app_settings.ORGANIZATION)
    app.setApplicationName(app_settings.APPLICATION)
    app.setApplicationDisplayName("segstudio")
    from segstudio.gui.theme import apply_theme, follow_system_scheme

    forced = os.environ.get("SEGSTUDIO_THEME", "").lower()  # "dark" / "light" override the system scheme
    apply_theme(app, dark={"dark": True, "light": False}.get(forced))
    if forced not in ("dark", "light"):
        follow_system_scheme(app)
    return app


def _demo_path() -> Path:
    from segstudio.core.demo import ensure_demo_project

    return Path(ensure_demo_project())


def create_main_window(project_path: str | Path | None = None):
    """A MainWindow (not yet shown) on PROJECT, else the last project, else the demo project.

    A project that cannot be opened is reported in the window and the demo opens instead.
    """
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    target = project_path if project_path is not None else app_settings.last_project()
    if target is not None and window.open_project(target):
        return window
    error = window.last_error
    if not window.open_project(_demo_path()):
        return window
    if error:
        window.report_error(f"{error} — opened the demo project instead")
    return window


def run_app(project: str | None, self_test: bool = False) -> int:
    """Run the desktop app; returns the exit status."""
    app = create_application()
    window = create_main_window(project)
    window.show()
    if self_test:
        from segstudio.gui.self_test import run_self_test

        return int(run_self_test(window))
    return int(app.exec())
