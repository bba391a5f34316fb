"""Large images on the canvas: overlays and reduced copies are prepared off the GUI thread.

Timing bounds here are deliberately generous (a loaded 2-core machine); the precise figures are in
benchmarks/ui_latency.py (--big) and benchmarks/canvas_latency.py.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer

from segstudio.core import painting
from segstudio.gui.canvas import canvas_view

from canvas_helpers import show_canvas

N = 4096
#: the longest the GUI thread may be busy at once while a 4096x4096 prediction is shown (generous)
MAX_GAP_MS = 250


class LoopProbe:
    """A 5 ms timer; ``max_gap_ms`` is the longest time between two ticks (how long the loop was blocked)."""

    def __init__(self) -> None:
        self.max_gap_ms = 0.0
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=5)
        self._timer.timeout.connect(self._tick)
        self._last = 0

    def start(self) -> None:
        self._clock.start()
        self._last = 0
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        self._tick()
        return self.max_gap_ms

    def _tick(self) -> None:
        now = self._clock.elapsed()
        self.max_gap_ms = max(self.max_gap_ms, float(now - self._last))
        self._last = now


def color_at(canvas, x: float, y: float) -> tuple[int, int, int]:
    c = canvas.grab().toImage().pixelColor(canvas.image_to_view(x + 0.5, y + 0.5))
    return (c.red(), c.green(), c.blue())


def test_large_prediction_is_coloured_off_the_gui_thread_and_then_shown(qtbot):
    rgb = np.full((N, N, 3), 128, np.uint8)
    mask = np.full((N, N), 255, np.uint8)
    mask[: N // 8, : N // 8] = 1  # a labeled red corner: the mask overlay is filled in strips
    pred = np.full((N, N), 2, np.uint8)  # green everywhere ...
    pred[:, N // 2:] = 3  # ... blue on the right half
    conf = np.ones((N, N), np.float32)
    conf[N // 2:, :] = 0.1  # the bottom half is unsure: dimmed colours

    probe = LoopProbe()
    probe.start()
    canvas = show_canvas(qtbot, rgb, mask, (400, 400))
    canvas.set_mask_opacity(1.0)
    canvas.set_prediction_opacity(1.0)
    with qtbot.waitSignal(canvas.predictionDisplayed, timeout=30000):
        canvas.set_prediction(pred, conf)
        assert canvas.has_prediction and not canvas.prediction_ready  # colouring runs in the background
    qtbot.waitUntil(lambda: canvas.overlays_ready, timeout=30000)
    canvas.grab()  # paint once more with every layer in place
    gap = probe.stop()
    assert gap < MAX_GAP_MS, f"the event loop was blocked for {gap:.0f} ms"

    assert canvas.prediction_ready
    assert color_at(canvas, N // 16, N // 16) == (255, 0, 0)  # mask over prediction
    assert color_at(canvas, N // 4, N // 4) == (0, 255, 0)  # sure green
    assert color_at(canvas, 3 * N // 4, N // 4) == (0, 0, 255)  # sure blue
    unsure = color_at(canvas, 3 * N // 4, 3 * N // 4)
    assert unsure != (0, 0, 255) and unsure[2] > unsure[0] > 0  # dimmed blue over the grey photo


def test_a_newer_prediction_wins_over_one_still_being_coloured(qtbot):
    rgb = np.full((N, N, 3), 128, np.uint8)
    canvas = show_canvas(qtbot, rgb, None, (300, 300))
    canvas.set_prediction_opacity(1.0)
    first = np.full((N, N), 1, np.uint8)
    second = np.full((N, N), 3, np.uint8)
    canvas.set_prediction(first, np.ones((N, N), np.float32))
    with qtbot.waitSignal(canvas.predictionDisplayed, timeout=30000):
        canvas.set_prediction(second)
    qtbot.waitUntil(lambda: canvas.overlays_ready, timeout=30000)
    qtbot.wait(50)  # a stale result of the first job would arrive through the event loop too
    assert color_at(canvas, N // 2, N // 2) == (0, 0, 255)
    canvas.set_prediction(None)
    assert not canvas.has_prediction and color_at(canvas, N // 2, N // 2) == (128, 128, 128)


def test_canvas_brush_limits_match_the_painting_module():
    assert (canvas_view.MIN_BRUSH, canvas_view.MAX_BRUSH) == (painting.MIN_BRUSH, painting.MAX_BRUSH)
