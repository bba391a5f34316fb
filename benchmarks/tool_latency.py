"""Region tools on a large image: the box tool's GrabCut and the magic wand's hover preview, 8192² vs 1024².

In a shown CanvasView (offscreen, 1:1 zoom) a 240 px box is dragged around a bright disc and the time from the
release to the GrabCut preview on screen is measured; then the mouse hovers over 20 pixels of another disc with
the wand and each time from the move to its preview on screen is measured (at once on 1024², on the job runner
on 8192²). The objects and the viewport are the same size on both images, so the ratios show whether the cost
follows the object (bounded: GrabCut sees the box and a margin, the wand's preview a window) or the image.
Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.image_io import LoadedImage  # noqa: E402
from segstudio.core.mask_document import MaskDocument  # noqa: E402
from segstudio.gui.canvas import CanvasView  # noqa: E402
from segstudio.gui.jobs import JobRunner  # noqa: E402

VIEW_W, VIEW_H = 800, 600
RADIUS = 90
HOVERS = 20


def _image(size: int) -> LoadedImage:
    """Dark noisy background with two bright discs near the centre."""
    rng = np.random.default_rng(0)
    rgb = np.full((size, size, 3), 40, np.uint8)
    c = size // 2
    for cx in (c - 130, c + 130):
        y0, x0 = c - RADIUS, cx - RADIUS
        yy, xx = np.mgrid[-RADIUS:RADIUS, -RADIUS:RADIUS]
        block = rgb[y0:y0 + 2 * RADIUS, x0:x0 + 2 * RADIUS]
        block[xx ** 2 + yy ** 2 <= RADIUS ** 2] = 210
    patch = rgb[c - 400:c + 400, c - 400:c + 400]
    patch[:] = np.clip(patch.astype(np.int16) + rng.integers(-12, 13, patch.shape), 0, 255).astype(np.uint8)
    return LoadedImage(Path(f"tools{size}.png"), rgb, rgb, "RGB")


def _send(widget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _until(app: QApplication, done, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        app.processEvents()
        time.sleep(0.0005)


def _painted(app: QApplication, canvas: CanvasView) -> None:
    """Process events until the repaint the preview asked for has happened."""
    before = canvas.paint_count
    app.processEvents()
    if canvas.paint_count == before:
        canvas.viewport().repaint()


def measure(app: QApplication, size: int) -> tuple[list[float], list[float]]:
    """(GrabCut ms per box, wand preview ms per hover) on a size x size image."""
    runner = JobRunner()
    canvas = CanvasView(runner)
    canvas.resize(VIEW_W, VIEW_H)
    canvas.set_class_colors([(0, 0, 0), (255, 0, 0)])
    canvas.set_image(_image(size), MaskDocument(np.full((size, size), 255, np.uint8)))
    canvas.show()
    canvas.actual_size()
    c = size / 2.0
    canvas.centerOn(c, c)
    canvas.set_current_class(1)
    _until(app, lambda: canvas.overlays_ready and canvas.display_settings is not None)
    vp = canvas.viewport()
    app.processEvents()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def view(x: float, y: float) -> QPointF:
        return QPointF(canvas.image_to_view(x, y))

    canvas.set_tool("box")
    box = canvas._tool
    grabcut: list[float] = []
    for k in range(3):
        box.cancel()  # as Escape: the next drag is a new box
        x0, y0 = c - 130 - 120 - k, c - 120 - k
        _send(vp, QEvent.Type.MouseButtonPress, view(x0, y0), left, left)
        for t in (0.25, 0.5, 0.75, 1.0):
            _send(vp, QEvent.Type.MouseMove, view(x0 + 240 * t, y0 + 240 * t), none, left)
        t0 = time.perf_counter()
        _send(vp, QEvent.Type.MouseButtonRelease, view(x0 + 240, y0 + 240), left, none)
        _until(app, lambda: not box.computing and box.preview.region is not None)
        _painted(app, canvas)
        grabcut.append((time.perf_counter() - t0) * 1000.0)
        assert box.preview.region.area > 0.8 * np.pi * RADIUS ** 2, "GrabCut missed the disc"
    canvas.set_tool("wand")
    canvas.wand_tolerance = 30
    wand = canvas._tool
    hovers: list[float] = []
    for i in range(HOVERS):
        wand.preview.clear()
        t0 = time.perf_counter()
        _send(vp, QEvent.Type.MouseMove, view(c + 130 - 40 + 4 * i, c - 20 + 2 * i), none, none)
        _until(app, lambda: not wand.preview_pending and wand.preview.region is not None)
        _painted(app, canvas)
        hovers.append((time.perf_counter() - t0) * 1000.0)
    assert wand.preview.region.area > 0.9 * np.pi * RADIUS ** 2, "the wand missed the disc"
    canvas.close()
    canvas.deleteLater()
    runner.shutdown(10)
    app.processEvents()
    return grabcut, hovers


def main() -> None:
    app = QApplication.instance() or QApplication([])
    measure(app, 1024)  # warm-up (imports, first paint)
    g1, w1 = measure(app, 1024)
    g8, w8 = measure(app, 8192)
    gm1, gm8, wm1, wm8 = (statistics.median(v) for v in (g1, g8, w1, w8))
    print(f"GrabCut box to preview: 1024² {gm1:.1f} ms, 8192² {gm8:.1f} ms")
    print(f"wand hover to preview:  1024² {wm1:.2f} ms, 8192² {wm8:.2f} ms")
    print(json.dumps({
        "grabcut_ms_1k": round(gm1, 2), "grabcut_ms_8k": round(gm8, 2), "grabcut_ratio_8k_1k": round(gm8 / gm1, 3),
        "wand_preview_ms_1k": round(wm1, 3), "wand_preview_ms_8k": round(wm8, 3),
        "wand_ratio_8k_1k": round(wm8 / wm1, 3),
    }))


if __name__ == "__main__":
    main()
