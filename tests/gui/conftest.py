"""GUI fixtures: a small demo project, a shown MainWindow on it, and per-test QSettings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from segstudio.core.demo import generate_demo_project


@pytest.fixture(scope="session", autouse=True)
def shared_runner(qapp):
    """The job runner of canvases made outside a window; its threads are joined at the end."""
    from canvas_helpers import shutdown_runner, canvas_runner

    yield canvas_runner()
    shutdown_runner()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own QSettings files and its own recovery folder."""
    cfg = tmp_path / "qsettings"
    cfg.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(cfg))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "userdata"))
    yield cfg


@pytest.fixture
def demo_project(tmp_path) -> Path:
    """A 6-image demo project (3 labeled), 64x64 pixels."""
    root = tmp_path / "project"
    generate_demo_project(root, n_images=6, labeled=3, size=(64, 64))
    return root


@pytest.fixture
def main_window(qtbot, demo_project):
    """A shown MainWindow on ``demo_project``; no modal dialogs (questions answered 'no' / 'quit')."""
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show_error_dialogs = False
    window.questions.confirm = lambda *_a, **_k: False
    window.questions.unsaved_on_close = lambda *_a, **_k: "quit"
    qtbot.addWidget(window)
    assert window.open_project(demo_project)
    window.resize(1100, 750)
    window.show()
    qtbot.waitExposed(window)
    window.canvas.fit_to_window()
    yield window
    window.close()


def view_point(window, x: float, y: float) -> QPoint:
    """Viewport position of the centre of image pixel (x, y)."""
    return window.canvas.image_to_view(x + 0.5, y + 0.5)


def paint_stroke(window, points: list[tuple[int, int]], button=Qt.MouseButton.LeftButton) -> None:
    """Press, move through ``points`` and release on the canvas viewport, like a user."""
    vp = window.canvas.viewport()
    mod = Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, button, mod, view_point(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, view_point(window, *p))
    QTest.mouseRelease(vp, button, mod, view_point(window, *points[-1]))


@pytest.fixture
def stroke():
    """``stroke(window, [(x, y), ...])`` paints on the window's canvas with the mouse."""
    return paint_stroke
