"""Display latency: time per contrast-limit change of a 16-bit image shown in the real canvas, repaint included.

A 16-bit single-channel image of 8192x8192 and one of 1024x1024 (read back from TIFF files through the app's
loader) are shown in a CanvasView (offscreen, 800x600 viewport) at 1:1 zoom centred, and again fitted to the
window (the 8192 image then draws from its reduced copy, made beforehand). Each step moves the upper
contrast limit (``canvas.set_display``) and repaints the viewport (``viewport().repaint()``, synchronous);
both are timed. The tiles the viewport shows are re-rendered through the look-up tables; nothing else. Also
measured: the same on a 4-channel 16-bit 8192x8192 composite (``*_4ch`` keys). Last line: one JSON object
with ``contrast_p50_ms_8k``, ``contrast_p50_ms_1k``, their p99, ``ratio_8k_1k`` (1:1 view), and the fitted
and 4-channel figures.

Usage: python benchmarks/display_latency.py [--steps 60]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.core.display import default_display  # noqa: E402
from segstudio.core.image_io import load_image  # noqa: E402
from segstudio.core.mask_document import MaskDocument  # noqa: E402
from segstudio.gui.canvas import CanvasView  # noqa: E402
from segstudio.gui.jobs import JobRunner  # noqa: E402

VIEW_W, VIEW_H = 800, 600


def _write(folder: Path, size: int, channels: int) -> Path:
    """A 16-bit TIFF with structure at every scale (so no tile is trivially uniform)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    planes = []
    for c in range(channels):
        wave = np.sin(xx / (7.0 + 3 * c)) * np.cos(yy / (11.0 + 2 * c)) + (xx + yy) / (2.0 * size)
        planes.append(((wave + 1.5) * 12000).astype(np.uint16))
    path = folder / f"bench_{size}_{channels}ch.tif"
    data = planes[0] if channels == 1 else np.stack(planes)
    tifffile.imwrite(path, data, photometric="minisblack")
    return path


def _wait(app: QApplication, canvas: CanvasView) -> None:
    deadline = time.monotonic() + 120
    while not canvas.overlays_ready and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()


def measure(app: QApplication, runner: JobRunner, path: Path, steps: int, fit: bool) -> list[float]:
    """Milliseconds per contrast change (set + synchronous repaint) of the image in ``path``."""
    image = load_image(path, max_pixels=None)
    canvas = CanvasView(runner)
    canvas.resize(VIEW_W, VIEW_H)
    settings = default_display(image.data)
    canvas.set_image(image, MaskDocument(np.full(image.shape, 255, np.uint8)), settings)
    canvas.show()
    if fit:
        canvas.fit_to_window()
    else:
        canvas.actual_size()
        canvas.centerOn(image.width / 2.0, image.height / 2.0)
    for _ in range(3):
        app.processEvents()
    _wait(app, canvas)  # reduced copies and the mask overlay of a large image are made in the background
    canvas.viewport().repaint()
    lo, hi = settings.channels[0].lo, settings.channels[0].hi
    times: list[float] = []
    gc.disable()
    for i in range(steps):
        new_hi = hi * (0.6 + 0.4 * ((i * 7) % steps) / steps)
        changed = settings.with_channel(i % len(settings.channels), lo=lo, hi=max(lo + 1.0, new_hi))
        before = canvas.image_layer.rendered_pixels()
        t0 = time.perf_counter()
        canvas.set_display(changed)
        canvas.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000.0)
        assert canvas.image_layer.rendered_pixels() > before, "the contrast change rendered nothing"
    gc.enable()
    canvas.close()
    canvas.deleteLater()
    app.processEvents()
    return times


def _p(times: list[float], q: float) -> float:
    return round(float(np.percentile(times, q)), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    runner = JobRunner()
    folder = Path(tempfile.mkdtemp(prefix="segstudio-display-bench-"))
    small, big, big4 = _write(folder, 1024, 1), _write(folder, 8192, 1), _write(folder, 8192, 4)
    measure(app, runner, _write(folder, 512, 1), 10, False)  # warm-up (imports, first paint, tables)
    t1k = measure(app, runner, small, args.steps, False)
    t8k = measure(app, runner, big, args.steps, False)
    f1k = measure(app, runner, small, args.steps, True)
    f8k = measure(app, runner, big, args.steps, True)
    t8k4 = measure(app, runner, big4, args.steps, False)
    runner.shutdown(10)
    med1, med8 = statistics.median(t1k), statistics.median(t8k)
    for name, t in (("1024 1:1", t1k), ("8192 1:1", t8k), ("1024 fit", f1k), ("8192 fit", f8k),
                    ("8192 4-channel 1:1", t8k4)):
        print(f"{name}: median {statistics.median(t):.3f} ms, p99 {_p(t, 99):.3f} ms per contrast change")
    print(json.dumps({
        "contrast_p50_ms_8k": round(med8, 3), "contrast_p99_ms_8k": _p(t8k, 99),
        "contrast_p50_ms_1k": round(med1, 3), "contrast_p99_ms_1k": _p(t1k, 99),
        "ratio_8k_1k": round(med8 / med1, 3),
        "fit_p50_ms_8k": round(statistics.median(f8k), 3), "fit_p50_ms_1k": round(statistics.median(f1k), 3),
        "contrast_p50_ms_8k_4ch": round(statistics.median(t8k4), 3), "contrast_p99_ms_8k_4ch": _p(t8k4, 99),
        "viewport": [VIEW_W, VIEW_H], "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
