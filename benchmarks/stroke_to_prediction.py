"""Stroke to prediction: how fast live training answers a correction, in the real window.

The demo project (segstudio/core/demo.py) in the offscreen main window, live training ticked with the
form's defaults on the chosen device. After a warm-up (until the first preview of the image on screen, at
least --warmup seconds), for each stroke: show an unlabeled demo image, wait for its first live preview,
find a connected region of a demo ground-truth class (the demo knows the masks of its unlabeled images)
that the prediction gets wrong, paint a stroke of that class into it with the mouse on the viewport (brush,
QTest press/move/release), and measure the time from the release until the prediction shown on the canvas
for that image agrees with the stroke on >= 50 % of the stroke's pixels (capped at --cap seconds; a
timeout counts as the cap).

Prints one JSON object as its last line: {"p50_s", "p90_s", "strokes", "device", "times_s", "timeouts",
"agreement" (per stroke, when it was reached), "save_s" (release to mask saved), "picked_s" (release to the
trainer's first crop of the edit), "agreement_before" (of the prediction with the stroke before it), "warmup_s",
"previews", "cpu_count"}.
Goals: CPU (2 cores) p50 <= 5 s, p90 <= 10 s; GPU p50 <= 1 s.

Usage: python benchmarks/stroke_to_prediction.py [--strokes 5] [--device cpu] [--cap 30] [--warmup 20]
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
from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

AGREEMENT = 0.5
BRUSH_PX = 7


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(cond, timeout_s: float, step_ms: int = 10) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        spin(step_ms)
    return bool(cond())


def shown_prediction(window, image_id: str):
    """The prediction the canvas shows for ``image_id`` (None while another image is on screen)."""
    if window.current_image_id != image_id or not window.canvas.prediction_ready:
        return None
    pred = window.session.prediction(image_id)
    return None if pred is None else pred.mask


def wrong_region(truth: np.ndarray, pred: np.ndarray, labels: np.ndarray, min_px: int = 30):
    """The (class, pixel mask) of the largest connected ground-truth region of a foreground class that the
    prediction mostly gets wrong and that is not labeled yet (eroded so a brush stroke stays inside); None
    when there is none."""
    import cv2

    best = None
    kernel = np.ones((3, 3), np.uint8)
    for c in np.unique(truth):
        if c == 0 or c == 255:
            continue
        n, labels_c = cv2.connectedComponents((truth == c).astype(np.uint8))
        for k in range(1, n):
            comp = (labels_c == k) & (labels == 255)
            inner = cv2.erode(comp.astype(np.uint8), kernel).astype(bool)
            if inner.sum() < min_px:
                continue
            wrong = float((pred[inner] != c).mean())
            if wrong > AGREEMENT and (best is None or inner.sum() * wrong > best[0]):
                best = (inner.sum() * wrong, int(c), inner)
    return None if best is None else (best[1], best[2])


def stroke_points(inner: np.ndarray, n: int = 12) -> list[tuple[int, int]]:
    """Points through a region: its pixels ordered along its longer axis, every few taken."""
    ys, xs = np.nonzero(inner)
    along = xs if np.ptp(xs) >= np.ptp(ys) else ys
    order = np.argsort(along, kind="stable")
    pick = order[np.linspace(0, len(order) - 1, min(n, len(order))).astype(int)]
    return [(int(xs[i]), int(ys[i])) for i in pick]


def paint(window, points: list[tuple[int, int]]) -> None:
    """Press, move through ``points`` and release on the viewport, like a user."""
    vp = window.canvas.viewport()
    mod = Qt.KeyboardModifier.NoModifier

    def at(p):
        return window.canvas.image_to_view(p[0] + 0.5, p[1] + 0.5)

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, mod, at(points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, at(p))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, mod, at(points[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strokes", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cap", type=float, default=30.0, help="longest wait per stroke (a timeout counts as this)")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds of live training before the first stroke")
    args = ap.parse_args()

    from segstudio.core.demo import generate_demo_project, make_demo_sample
    from segstudio.gui.app import create_application
    from segstudio.gui.main_window import MainWindow

    app = create_application([])
    root = Path(tempfile.mkdtemp(prefix="segstudio-bench-project-")) / "demo"
    n_images, labeled = 40, 20
    generate_demo_project(root, n_images=n_images, labeled=labeled)
    truth = {f"sample_{i + 1:02d}.jpg": make_demo_sample(i)[1] for i in range(labeled, n_images)}
    window = MainWindow()
    window.show_error_dialogs = False
    window.questions.confirm = lambda *_a, **_k: False
    window.open_project(root)
    window.resize(1400, 900)
    window.show()
    spin(500)
    panel = window.training_panel
    panel.confirm_close = False
    form = panel.form
    i = form.device_combo.findData(args.device)
    if i < 0:
        form.device_combo.addItem(args.device, args.device)
        i = form.device_combo.count() - 1
    form.device_combo.setCurrentIndex(i)
    picked: dict[str, float] = {}
    saved: dict[str, float] = {}
    window.maskSaved.connect(lambda image_id: saved.setdefault(image_id, time.monotonic()))  # first save after a release
    unlabeled = sorted(truth)
    window.show_image(unlabeled[0])
    spin(200)

    t_start = time.monotonic()
    QTest.mouseClick(panel.live_check, Qt.MouseButton.LeftButton)  # ticking Live training starts it
    assert panel.is_training(), panel.status_label.text()
    panel.controller.liveDataPicked.connect(lambda ev: picked.setdefault(ev.image_id, time.monotonic()))
    wait_until(lambda: panel.predictions_received > 0, 180)
    wait_until(lambda: False, max(0.0, args.warmup - (time.monotonic() - t_start)))
    warmup_s = time.monotonic() - t_start
    device = getattr(panel._train_start, "device", args.device)  # noqa: SLF001 - what the trainer reported

    window.set_tool("brush")
    window.brush_spin.setValue(BRUSH_PX)
    times, timeouts, agreement, save_s, picked_s, prior = [], 0, [], [], [], []
    candidates = iter(unlabeled)
    image_id, before_pred = None, []
    while len(times) < args.strokes:
        if image_id is None or len(before_pred) >= 2:  # at most two strokes per image
            image_id, before_pred = next(candidates, None), []
            if image_id is None:
                break
            window.show_image(image_id)
            if not wait_until(lambda: shown_prediction(window, image_id) is not None, args.cap):
                image_id = None
                continue
        spin(1200)  # a preview with the current weights
        pred = shown_prediction(window, image_id)
        region = None if pred is None else wrong_region(truth[image_id], pred, window.current_document().mask)
        if region is None:
            image_id = None
            continue
        cls, inner = region
        window.select_class(cls)
        before = window.current_document().mask.copy()
        paint(window, stroke_points(inner))
        released = time.monotonic()
        after = window.current_document().mask
        stroke_px = (after != before) & (after == cls)
        before_pred.append(float((pred[stroke_px] == cls).mean()) if stroke_px.any() else 1.0)
        if not stroke_px.any() or before_pred[-1] >= AGREEMENT:  # not a correction: the model agreed already
            continue
        prior.append(round(before_pred[-1], 3))

        def agrees() -> float:
            p = shown_prediction(window, image_id)
            return 0.0 if p is None else float((p[stroke_px] == cls).mean())

        ok = wait_until(lambda: agrees() >= AGREEMENT, args.cap, step_ms=5)
        took = time.monotonic() - released
        times.append(took if ok else args.cap)
        timeouts += 0 if ok else 1
        agreement.append(round(agrees(), 3))
        if image_id in saved:
            save_s.append(round(saved[image_id] - released, 3))
        if image_id in picked:
            picked_s.append(round(picked.pop(image_id) - released, 3))
        saved.pop(image_id, None)
        print(f"stroke {len(times)}: {image_id} class {cls}, {int(stroke_px.sum())} px, "
              f"{'%.2f s' % took if ok else 'timeout'}", file=sys.stderr)

    previews = panel.predictions_received
    QTest.mouseClick(panel.live_check, Qt.MouseButton.LeftButton)  # unticking stops it
    wait_until(lambda: not panel.is_training(), 30)
    window.close()
    arr = np.asarray(times or [args.cap])
    result = {"p50_s": round(float(np.percentile(arr, 50)), 2), "p90_s": round(float(np.percentile(arr, 90)), 2),
              "strokes": len(times), "device": device, "times_s": [round(t, 2) for t in times],
              "timeouts": timeouts, "agreement_before": prior, "agreement": agreement, "save_s": save_s, "picked_s": picked_s,
              "warmup_s": round(warmup_s, 1), "previews": previews, "cpu_count": os.cpu_count()}
    print(json.dumps(result))
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
