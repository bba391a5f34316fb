"""Starts the desktop app, reporting a missing Qt as a user error instead of a traceback."""

from __future__ import annotations

from segstudio.core.errors import SegstudioError


def launch(project: str | None, self_test: bool = False) -> int:
    """Import the GUI (PySide6) and run it; returns the exit status."""
    try:
        from segstudio.gui.app import run_app
    except ImportError as exc:
        if "PySide6" in str(exc) or "pyqtgraph" in str(exc):
            raise SegstudioError(f"the desktop app needs PySide6 and pyqtgraph ({exc}); "
                                 "headless subcommands still work: segstudio --help") from exc
        raise
    return run_app(project, self_test=self_test)
