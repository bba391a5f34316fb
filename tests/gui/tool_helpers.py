"""Shared by the tool tests: a shown canvas on an image written to disk and loaded through the real loader,
and mouse gestures on its viewport."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from segstudio.core.image_io import load_image
from segstudio.core.mask_document import MaskDocument
from segstudio.gui.canvas import CanvasView

from canvas_helpers import COLORS, canvas_runner

LEFT, RIGHT, NOMOD = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier


def disc_rgb(size=(160, 200), centre=(90, 80), radius=35, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A bright noisy disc on a dark noisy background, and the disc's mask."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2
    noise = np.random.default_rng(seed).integers(-15, 16, (h, w, 3))
    return (np.where(disc[..., None], 210, 40) + noise).clip(0, 255).astype(np.uint8), disc


def disk_canvas(qtbot, tmp_path: Path, rgb: np.ndarray, mask: np.ndarray | None = None, zoom: float = 2.0,
                size: tuple[int, int] = (360, 280), centre: tuple[float, float] | None = None) -> CanvasView:
    """A shown CanvasView on ``rgb`` saved as PNG and loaded back with ``load_image`` (read-only arrays)."""
    path = tmp_path / "image.png"
    Image.fromarray(rgb).save(path)
    image = load_image(path)
    doc = MaskDocument(np.full(image.shape, 255, np.uint8) if mask is None else mask.copy())
    canvas = CanvasView(canvas_runner())
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.set_class_colors(COLORS)
    canvas.set_image(image, doc)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_zoom(zoom)
    cx, cy = centre or (image.width / 2, image.height / 2)
    canvas.centerOn(cx, cy)
    canvas.set_current_class(1)
    return canvas


def at(canvas: CanvasView, x: float, y: float) -> QPoint:
    """Viewport position of the centre of image pixel (x, y)."""
    return canvas.image_to_view(x + 0.5, y + 0.5)


def click(canvas: CanvasView, x: float, y: float, button=LEFT, modifiers=NOMOD) -> None:
    QTest.mouseClick(canvas.viewport(), button, modifiers, at(canvas, x, y))


def hover(canvas: CanvasView, x: float, y: float) -> None:
    QTest.mouseMove(canvas.viewport(), at(canvas, x, y))


def drag(canvas: CanvasView, start: tuple[float, float], end: tuple[float, float], steps: int = 4) -> None:
    """Press at ``start``, move in ``steps`` to ``end``, release there."""
    vp = canvas.viewport()
    QTest.mousePress(vp, LEFT, NOMOD, at(canvas, *start))
    for i in range(1, steps + 1):
        t = i / steps
        QTest.mouseMove(vp, at(canvas, start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
    QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, *end))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())
