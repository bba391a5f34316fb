"""Canvas paint latency: time per mouse move of a 32 px brush stroke, repaint included.

A 200-move stroke is sent to a shown CanvasView (offscreen) at 1:1 zoom on a 1024x1024 and an
8192x8192 image; each move is one QMouseEvent delivered with ``QApplication.sendEvent`` followed
by ``processEvents``, which runs the (dirty-rect) repaint synchronously; both are timed. The
viewport size, zoom and stroke path on screen are identical for both images, so the ratio shows
whether the cost grows with the image. Last line: one JSON object.
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.classes import default_classes  # noqa: E402
from segstudio.core.image_io import LoadedImage  # noqa: E402
from segstudio.core.mask_document import MaskDocument  # noqa: E402
from segstudio.gui.canvas import CanvasView  # noqa: E402
from segstudio.gui.jobs import JobRunner  # noqa: E402

MOVES = 200
BRUSH = 32
VIEW_W, VIEW_H = 800, 600


def _image(size: int) -> LoadedImage:
    ramp = (np.arange(size, dtype=np.uint32) * 255 // max(1, size - 1)).astype(np.uint8)
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[..., 0] = ramp[None, :]
    rgb[..., 1] = ramp[:, None]
    rgb[..., 2] = 128
    return LoadedImage(Path(f"bench{size}.png"), rgb, rgb, "RGB")


def _send(widget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def measure(app: QApplication, size: int) -> list[float]:
    """Milliseconds per mouse move (event + repaint) of one stroke on a size x size image."""
    runner = JobRunner()
    canvas = CanvasView(runner)
    canvas.resize(VIEW_W, VIEW_H)
    canvas.set_class_colors([c.rgb for c in default_classes(["bg", "a", "b", "c"])])
    image = _image(size)
    mask = np.full((size, size), 255, np.uint8)
    canvas.set_image(image, MaskDocument(mask))
    canvas.show()
    canvas.actual_size()
    canvas.centerOn(size / 2.0, size / 2.0)
    canvas.brush_size = BRUSH
    canvas.set_current_class(1)
    for _ in range(3):
        app.processEvents()
    deadline = time.monotonic() + 60
    while not canvas.overlays_ready and time.monotonic() < deadline:  # large masks fill in the background
        app.processEvents()
        time.sleep(0.002)
    vp = canvas.viewport()
    cx, cy = VIEW_W / 2.0, VIEW_H / 2.0
    # a spiral-ish path on screen, ~4 px per move, always inside the viewport
    path = [QPointF(cx + (60 + 0.9 * i) * math.cos(i * 0.06), cy + (60 + 0.9 * i) * math.sin(i * 0.06))
            for i in range(MOVES + 1)]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(vp, QEvent.Type.MouseButtonPress, path[0], left, left)
    app.processEvents()
    times: list[float] = []
    gc.disable()  # collector pauses are not paint latency
    for pos in path[1:]:
        before = canvas.paint_count
        t0 = time.perf_counter()
        _send(vp, QEvent.Type.MouseMove, pos, none, left)
        app.processEvents()
        if canvas.paint_count == before:  # make sure the repaint happened inside the timed part
            vp.repaint()
        times.append((time.perf_counter() - t0) * 1000.0)
    gc.enable()
    _send(vp, QEvent.Type.MouseButtonRelease, path[-1], left, none)
    app.processEvents()
    painted = int((canvas.document().mask == 1).sum())  # type: ignore[union-attr]
    assert painted > 0, "the stroke painted nothing"
    canvas.close()
    canvas.deleteLater()
    runner.shutdown(10)
    app.processEvents()
    return times


def main() -> None:
    app = QApplication.instance() or QApplication([])
    measure(app, 512)  # warm-up (imports, first paint)
    t1k = measure(app, 1024)
    t8k = measure(app, 8192)
    med1, med8 = statistics.median(t1k), statistics.median(t8k)
    p99 = float(np.percentile(t8k, 99))
    print(f"1024x1024: median {med1:.3f} ms, p99 {np.percentile(t1k, 99):.3f} ms per move")
    print(f"8192x8192: median {med8:.3f} ms, p99 {p99:.3f} ms per move")
    print(json.dumps({
        "median_ms_1k": round(med1, 3),
        "median_ms_8k": round(med8, 3),
        "p99_ms_8k": round(p99, 3),
        "ratio_8k_1k": round(med8 / med1, 3),
    }))


if __name__ == "__main__":
    main()
