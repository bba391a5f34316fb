"""Background prediction of single images (the one on screen) with the latest checkpoint.

:class:`PredictionService` owns a QThread with a :class:`_PredictWorker`. Requests are "latest wins":
flipping quickly through images only predicts the one the user stopped on, and a prediction still
running for an image the user has left is cancelled between two tile batches. The engine's
Predictor tiles large images (an 8192x8192 image is predicted without touching the GUI thread).
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot


class PredictionCancelled(Exception):
    """Raised inside the model call when the prediction is no longer wanted."""


class _CancellableForward:
    """Wraps the predictor's model: checks a cancel flag before every (tile batch) forward pass."""

    def __init__(self, model, cancel: threading.Event) -> None:
        self.model = model
        self.cancel = cancel

    def __call__(self, x):
        if self.cancel.is_set():
            raise PredictionCancelled()
        return self.model(x)


class PredictorCache:
    """Loads ``Predictor.from_checkpoint`` once per (path, mtime) (engine imported lazily). Worker thread only."""

    def __init__(self, device: str = "auto", cancel: threading.Event | None = None) -> None:
        self.device = device
        self.cancel = cancel or threading.Event()
        self._key: tuple[str, float] | None = None
        self._predictor = None

    def get(self, checkpoint: Path):
        from segstudio.engine.predictor import Predictor

        key = (str(checkpoint), Path(checkpoint).stat().st_mtime)
        if key != self._key or self._predictor is None:
            predictor = Predictor.from_checkpoint(checkpoint, device=self.device)
            predictor.model = _CancellableForward(predictor.model, self.cancel)
            self._predictor, self._key = predictor, key
        return self._predictor


def predict_file(cache: PredictorCache, checkpoint: Path, image_path: Path, check_size: bool = True):
    """Load an image and predict it; returns the engine's Prediction (mask, confidence, entropy).

    ``check_size=False`` skips the decompression-bomb limit (the image on screen: the window already asked)."""
    from segstudio.core.image_io import DEFAULT_MAX_PIXELS, load_image

    predictor = cache.get(checkpoint)
    rgb = load_image(image_path, max_pixels=DEFAULT_MAX_PIXELS if check_size else None).rgb
    return predictor.predict(rgb)


#: Confidence maps above this many pixels are handed on as uint8 0..255 (a quarter of the memory).
COMPACT_CONFIDENCE_PIXELS = 2048 * 2048


def compact_confidence(confidence):
    """A large float confidence map as uint8 (0..255), made on the worker thread; others unchanged."""
    if confidence is None or confidence.size <= COMPACT_CONFIDENCE_PIXELS or confidence.dtype.kind != "f":
        return confidence
    import numpy as np

    out = np.empty(confidence.shape, np.uint8)
    step = max(1, (1 << 22) // max(1, confidence.shape[-1]))
    for r0 in range(0, confidence.shape[0], step):
        block = np.clip(confidence[r0:r0 + step], 0.0, 1.0) * 255.0
        np.rint(block, out=block)
        out[r0:r0 + step] = block
    return out


def _job_key(image_id: str, checkpoint: Path) -> tuple:
    try:
        mtime = checkpoint.stat().st_mtime
    except OSError:
        mtime = 0.0
    return (image_id, str(checkpoint), mtime)


class _PredictWorker(QObject):
    predicted = Signal(str, object, object, float)  # image_id, mask, confidence, entropy
    failed = Signal(str, str, str)  # image_id, message, traceback
    idle = Signal()

    def __init__(self, device: str = "auto") -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: tuple[tuple, str, Path, Path] | None = None
        self._running: tuple | None = None
        self._last_done: tuple | None = None
        self.cancel_event = threading.Event()
        self._cache = PredictorCache(device, self.cancel_event)
        self._threads_set = False

    def submit(self, image_id: str, image_path: Path, checkpoint: Path) -> bool:
        """Queue a prediction (replacing a queued one, cancelling a running one for something else).
        False when exactly this prediction is already running or was the last one done."""
        key = _job_key(image_id, Path(checkpoint))
        with self._lock:
            if key == self._running or (key == self._last_done and self._running is None):
                self._pending = None
                return False
            if self._running is not None:
                self.cancel_event.set()
            self._pending = (key, image_id, Path(image_path), Path(checkpoint))
        return True

    def stop(self) -> None:
        """Drop the queued job and cancel the running one (thread-safe)."""
        with self._lock:
            self._pending = None
            self.cancel_event.set()

    @Slot()
    def process(self) -> None:
        with self._lock:
            job, self._pending = self._pending, None
            if job is None:
                return
            self._running = job[0]
            self.cancel_event.clear()
        key, image_id, image_path, checkpoint = job
        try:
            if not self._threads_set:
                import torch

                from segstudio.gui.training.worker import lower_thread_priority, worker_torch_threads

                lower_thread_priority()
                torch.set_num_threads(worker_torch_threads())
                self._threads_set = True
            pred = predict_file(self._cache, checkpoint, image_path, check_size=False)
            confidence = compact_confidence(pred.confidence)
            with self._lock:
                self._last_done = key
            self.predicted.emit(image_id, pred.mask, confidence, float(pred.entropy))
        except PredictionCancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - reported in the panel
            self.failed.emit(image_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        with self._lock:
            self._running = None
            more = self._pending is not None
        if not more:
            self.idle.emit()


class PredictionService(QObject):
    """Predicts images in the background; emits ``predicted(image_id, mask, confidence, entropy)``."""

    predicted = Signal(str, object, object, float)
    failed = Signal(str, str, str)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None, device: str = "auto") -> None:
        super().__init__(parent)
        self.checkpoint: Path | None = None
        self.busy = False
        self._thread = QThread()
        self._thread.setObjectName("segstudio-predict")
        self._worker = _PredictWorker(device)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.process)
        self._worker.predicted.connect(self.predicted)
        self._worker.failed.connect(self.failed)
        self._worker.idle.connect(self._on_idle)
        self._started = False

    def set_checkpoint(self, path: str | Path | None) -> None:
        self.checkpoint = Path(path) if path else None

    def request(self, image_id: str, image_path: str | Path) -> bool:
        """Predict ``image_id`` with the current checkpoint (latest request wins)."""
        if self.checkpoint is None or not self.checkpoint.is_file():
            return False
        if not self._started:
            self._thread.start()
            self._started = True
        if not self._worker.submit(image_id, Path(image_path), self.checkpoint):
            return True  # already running / just done with this checkpoint
        self.busy = True
        self._wake.emit()
        return True

    def _on_idle(self) -> None:
        self.busy = False

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel what runs (between two tile batches) and stop the thread. True when it ended in time."""
        self._worker.stop()
        if not self._started:
            return True
        self._thread.quit()
        ok = self._thread.wait(timeout_ms)
        self._started = not ok
        self.busy = False
        return bool(ok)
