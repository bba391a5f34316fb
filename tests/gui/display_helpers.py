"""Shared by the display tests: projects with 16-bit and 4-channel TIFFs, a window on them, screen colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from segstudio.core.project import Project


def deep_project(root: Path) -> Path:
    """Two 16-bit gray TIFFs (96 x 128): a ramp 1000..3000 left to right with a bright square (8000) in
    ``deep.tif``, the same ramp doubled (2000..6000) in ``deeper.tif``."""
    Project.create(root, ["background", "cell"])
    ramp = np.linspace(1000, 3000, 128).astype(np.uint16)
    data = np.tile(ramp, (96, 1))
    data[40:60, 60:80] = 8000
    tifffile.imwrite(root / "images" / "deep.tif", data)
    tifffile.imwrite(root / "images" / "deeper.tif", np.tile(ramp * 2, (96, 1)))
    return root


def four_channel_project(root: Path) -> Path:
    """One 4-channel 16-bit TIFF (C, Y, X) of 64 x 80: channel c is bright (4000) in column band c, 100 elsewhere."""
    Project.create(root, ["background", "cell"])
    data = np.full((4, 64, 80), 100, np.uint16)
    for c in range(4):
        data[c, :, c * 20:(c + 1) * 20] = 4000
    data[:, 0, 0] = (11, 22, 33, 44)  # a pixel with distinct values for the status bar
    tifffile.imwrite(root / "images" / "four.tif", data, photometric="minisblack", metadata={"axes": "CYX"})
    return root


def open_window(qtbot, root: Path):
    """A shown MainWindow on ``root``, its first image on screen, no modal dialogs."""
    from segstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show_error_dialogs = False
    window.questions.confirm = lambda *_a, **_k: False
    window.questions.unsaved_on_close = lambda *_a, **_k: "quit"
    qtbot.addWidget(window)
    assert window.open_project(root)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.current_image is not None and window.canvas.display_settings is not None,
                    timeout=5000)
    window.canvas.fit_to_window()
    return window


def screen_color(canvas, x: float, y: float) -> tuple[int, int, int]:
    """What the canvas viewport shows at image point (x, y) (use x + 0.5 for a pixel's centre)."""
    canvas.viewport().repaint()
    c = canvas.viewport().grab().toImage().pixelColor(canvas.image_to_view(x, y))
    return (c.red(), c.green(), c.blue())


def click(widget, pos: QPoint | None = None, button=Qt.MouseButton.LeftButton) -> None:
    QTest.mouseClick(widget, button, Qt.KeyboardModifier.NoModifier, pos if pos is not None else widget.rect().center())


def click_pixel(window, x: int, y: int) -> None:
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.canvas.image_to_view(x + 0.5, y + 0.5))


def key(widget, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    widget.setFocus()
    QTest.keyClick(widget, k, modifier)
