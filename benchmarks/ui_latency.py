"""GUI responsiveness while training: offscreen main window, a small model trained on the CPU in the
worker thread for ~10 s, a 5 ms QTimer probing the event loop.

Prints one JSON object as its last line:
{"p50_ms", "p99_ms", "max_ms" (timer delay beyond its 5 ms period while training),
 "curve_updates_per_s", "predictions" (prediction overlays received), "stop_s" (Stop click to worker
 thread ended), plus the idle baseline ("baseline_p99_ms", "baseline_max_ms") measured the same way in the
 same process before training}. With --big N also the big_* keys: an NxN image predicted in the
 background with the run's checkpoint (seconds, loop delays meanwhile, overlay shown; big_add_image_ms: the
 add_images call that copies, decodes and shows it, which runs on the GUI thread before the probe starts).
Targets: p99 <= 16 ms, max <= 50 ms, curve updates >= 5/s, predictions >= 1.

With --live the training is started by ticking *Live training* (previews of the image on screen every
second, strokes saved promptly) instead of clicking Train.

Usage: python benchmarks/ui_latency.py [--seconds 10] [--size 128] [--live]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SEGSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="segstudio-bench-"))
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="segstudio-bench-config-")  # keep the user's settings

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402

PERIOD_MS = 5


class LoopProbe:
    """A 5 ms repeating timer; records how late each tick is beyond the period."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._clock = QElapsedTimer()
        self._last = 0
        self._timer = QTimer()
        self._timer.setInterval(PERIOD_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.delays = []
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.delays

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        self.delays.append(max(0.0, (now - self._last) / 1e6 - PERIOD_MS))
        self._last = now


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def stats(delays: list[float]) -> dict:
    arr = np.asarray(delays or [0.0])
    return {"p50_ms": round(float(np.percentile(arr, 50)), 2), "p99_ms": round(float(np.percentile(arr, 99)), 2),
            "max_ms": round(float(arr.max()), 2)}


def measure_big_prediction(window, n: int) -> dict:
    """Add an n x n image, show it, predict it with the last checkpoint in the background; probe the loop."""
    import cv2

    panel = window.training_panel
    path = Path(tempfile.mkdtemp(prefix="segstudio-bench-big-")) / f"big_{n}.png"
    rgb = np.zeros((n, n, 3), np.uint8)
    rgb[::16] = 180
    rgb[:, ::24, 1] = 90
    cv2.imwrite(str(path), rgb)
    t_add = time.monotonic()
    (image_id,) = window.add_images([path])  # copies it and switches to it (a huge image decodes in the background)
    add_ms = (time.monotonic() - t_add) * 1000
    shown: list[str] = []
    panel.predictionShown.connect(shown.append)
    probe = LoopProbe()
    probe.start()  # phase 1 (3 s): the main window and canvas show the big image (not this panel's work)
    t0 = time.monotonic()
    window.show_image(image_id)  # also starts the background prediction with the run's checkpoint
    panel.predict_current()  # no-op when already running
    spin(3000)
    show = stats(probe.stop())
    probe.start()  # phase 2: the rest of the background prediction, until the overlay is on the canvas
    while image_id not in shown and time.monotonic() - t0 < 900:
        spin(20)
    predict_s = time.monotonic() - t0
    spin(500)  # let the overlay paint
    delays = probe.stop()
    pred = window.session.prediction(image_id)
    mask = pred.mask if pred is not None else None
    s = stats(delays)
    return {"big_size": n, "big_predict_s": round(predict_s, 2), "big_show_image_max_ms": show["max_ms"],
            "big_p99_ms": s["p99_ms"], "big_max_ms": s["max_ms"],
            "big_shown": bool(mask is not None and mask.shape == (n, n)), "big_add_image_ms": round(add_ms, 1),
            "big_confidence_shaded": bool(pred is not None and pred.confidence is not None)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", type=int, default=128, help="demo image size (pixels)")
    ap.add_argument("--big", type=int, default=0, metavar="N",
                    help="afterwards, predict an NxN image (e.g. 8192) with the run's checkpoint and probe the "
                         "event loop meanwhile (adds big_* keys)")
    ap.add_argument("--live", action="store_true", help="tick Live training instead of clicking Train")
    args = ap.parse_args()

    from segstudio.core.demo import generate_demo_project
    from segstudio.gui.app import create_application
    from segstudio.gui.main_window import MainWindow

    app = create_application([])
    root = Path(tempfile.mkdtemp(prefix="segstudio-bench-project-")) / "project"
    generate_demo_project(root, n_images=8, labeled=6, size=(args.size, args.size))
    window = MainWindow()
    window.show_error_dialogs = False
    window.open_project(root)
    window.resize(1200, 800)
    window.show()
    spin(500)
    panel = window.training_panel
    panel.confirm_close = False

    probe = LoopProbe()
    probe.start()  # idle baseline, same process, same probe
    spin(1500)
    baseline = stats(probe.stop())

    form = panel.form
    form.crop_spin.setValue(64)
    form.batch_spin.setValue(4)
    form.epochs_spin.setValue(100000)
    form.device_combo.setCurrentIndex(form.device_combo.findData("cpu"))
    form.extra_config = {"model_args": {"width": 8, "depth": 3}, "steps_per_epoch": 40, "pretrained": False,
                         "channels_last": False}
    (panel.live_check if args.live else panel.train_button).click()
    # the clock starts once the first steps arrive (torch import and setup are not "training")
    deadline = time.monotonic() + 120
    while len(panel.loss_plot.step_points()[0]) == 0 and time.monotonic() < deadline:
        spin(20)
    redraws0 = panel.loss_plot.redraws
    predictions0 = panel.predictions_received
    probe.start()
    t0 = time.monotonic()
    spin(int(args.seconds * 1000))
    elapsed = time.monotonic() - t0
    delays = probe.stop()
    curve_updates = panel.loss_plot.redraws - redraws0
    predictions = panel.predictions_received - predictions0
    steps = len(panel.loss_plot.step_points()[0])
    t_stop = time.monotonic()
    panel.stop_training()
    while panel.is_training() and time.monotonic() - t_stop < 30:
        spin(5)
    stop_s = time.monotonic() - t_stop
    big = measure_big_prediction(window, args.big) if args.big else {}
    window.close()
    result = {**stats(delays), "curve_updates_per_s": round(curve_updates / elapsed, 2),
              "predictions": int(predictions), "steps": steps, "stop_s": round(stop_s, 3), "seconds": round(elapsed, 2),
              "baseline_p99_ms": baseline["p99_ms"], "baseline_max_ms": baseline["max_ms"],
              "cpu_count": os.cpu_count(), "live": bool(args.live), **big}
    print(json.dumps(result))
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
