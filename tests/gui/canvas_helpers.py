"""Shared by the canvas tests: a shown CanvasView on a given image and mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.image_io import LoadedImage
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView
from segstudio.gui.jobs import JobRunner

_RUNNER: JobRunner | None = None


def canvas_runner() -> JobRunner:
    """One job runner for the canvases of the test session (shut down by the ``shared_runner`` fixture)."""
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = JobRunner()
    return _RUNNER


def shutdown_runner() -> None:
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.shutdown(10)
        _RUNNER = None

#: class colours the canvas tests paint with (background, red, green, blue)
COLORS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]


def show_canvas(qtbot, rgb: np.ndarray, mask: np.ndarray | None, size: tuple[int, int]) -> CanvasView:
    """A CanvasView of ``size`` (w, h) showing ``rgb`` with ``mask`` (default: all unlabeled, 255)."""
    h, w = rgb.shape[:2]
    doc = MaskDocument(np.full((h, w), 255, np.uint8) if mask is None else mask)
    canvas = CanvasView(canvas_runner())
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.set_class_colors(COLORS)
    canvas.set_image(LoadedImage(Path("t.png"), rgb, rgb, "RGB"), doc)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas
