"""Shared by the canvas tests: a shown CanvasView on a given image and mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.core.image_io import LoadedImage
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView

#: class colours the canvas tests paint with (background, red, green, blue)
COLORS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]


def show_canvas(qtbot, rgb: np.ndarray, mask: np.ndarray | None, size: tuple[int, int]) -> CanvasView:
    """A CanvasView of ``size`` (w, h) showing ``rgb`` with ``mask`` (default: all unlabeled, 255)."""
    h, w = rgb.shape[:2]
    doc = MaskDocument(np.full((h, w), 255, np.uint8) if mask is None else mask)
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.set_class_colors(COLORS)
    canvas.set_image(LoadedImage(Path("t.png"), rgb, rgb, "RGB"), doc)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas
