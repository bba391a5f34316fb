"""Background prediction of single images (the one on screen) with the project's checkpoint.

Requests run on the job runner's "predict" lane and are "latest wins": flipping quickly through
images only predicts the one the user stopped on, and a prediction still running for an image the
user has left is cancelled between two tile batches. The engine's Predictor tiles large images (an
8192x8192 image is predicted without touching the GUI thread). The loaded model is kept between
requests (one per checkpoint file and modification time), on the lane's single thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from segstudio.gui.jobs import Cancelled, Job, JobRunner

PREDICT_KEY = "predict:current"


class _CancellableForward:
    """Wraps the predictor's model: checks the running job before every (tile batch) forward pass."""

    def __init__(self, model, cache: "PredictorCache") -> None:
        self.model = model
        self.cache = cache

    def __call__(self, x):
        if self.cache.should_stop():
            raise Cancelled()
        return self.model(x)


class PredictorCache:
    """``Predictor.from_checkpoint`` once per (path, mtime) (engine imported lazily). One thread only."""

    def __init__(self, device: str = "auto") -> None:
        self.device = device
        #: asked before every forward pass of the model; True stops the prediction (raises Cancelled)
        self.should_stop: Callable[[], bool] = lambda: False
        self._key: tuple[str, float] | None = None
        self._predictor = None

    def get(self, checkpoint: Path):
        from segstudio.engine.predictor import Predictor

        key = (str(checkpoint), Path(checkpoint).stat().st_mtime)
        if key != self._key or self._predictor is None:
            predictor = Predictor.from_checkpoint(checkpoint, device=self.device)
            predictor.model = _CancellableForward(predictor.model, self)
            self._predictor, self._key = predictor, key
        return self._predictor


def predict_file(cache: PredictorCache, checkpoint: Path, image_path: Path, check_size: bool = True):
    """Load an image and predict it; returns the engine's Prediction (mask, confidence, entropy).

    ``check_size=False`` skips the decompression-bomb limit (the image on screen: the window already asked)."""
    from segstudio.core.image_io import DEFAULT_MAX_PIXELS, load_image

    predictor = cache.get(checkpoint)
    image = load_image(image_path, max_pixels=DEFAULT_MAX_PIXELS if check_size else None)
    return predictor.predict_image(image)  # every channel the model was trained on (refuses others)


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


@dataclass
class PredictedImage:
    """A finished single-image prediction."""

    image_id: str
    project_root: Path
    checkpoint: Path
    mask: Any
    confidence: Any
    entropy: float


class PredictionService:
    """Predicts images in the background; results go to ``on_result(PredictedImage)``, failures to
    ``on_failure(image_id, message, traceback)``, both on the GUI thread."""

    def __init__(self, runner: JobRunner, on_result: Callable[[PredictedImage], None],
                 on_failure: Callable[[str, str, str], None], device: str = "auto") -> None:
        self.runner = runner
        self.on_result, self.on_failure = on_result, on_failure
        self.cache = PredictorCache(device)
        self._last: tuple | None = None  # (image id, checkpoint, mtime) of the last finished prediction

    @property
    def busy(self) -> bool:
        return self.runner.pending(PREDICT_KEY)

    def request(self, image_id: str, image_path: Path, checkpoint: Path | None, project_root: Path) -> bool:
        """Predict ``image_id`` with ``checkpoint`` (latest request wins). False when there is no checkpoint."""
        if checkpoint is None or not Path(checkpoint).is_file():
            return False
        key = (image_id, str(checkpoint), Path(checkpoint).stat().st_mtime)
        if key == self._last and not self.busy:
            return True  # exactly this prediction is what was shown last
        cache, path, ckpt = self.cache, Path(image_path), Path(checkpoint)

        def work(job: Job) -> PredictedImage:
            from segstudio.gui.training.worker import prepare_compute_thread

            prepare_compute_thread()
            cache.should_stop = lambda: job.cancelled
            try:
                pred = predict_file(cache, ckpt, path, check_size=False)
            finally:
                cache.should_stop = lambda: False
            return PredictedImage(image_id, project_root, ckpt, pred.mask, compact_confidence(pred.confidence),
                                  float(pred.entropy))

        def done(result: PredictedImage) -> None:
            self._last = key
            self.on_result(result)

        self.runner.submit(PREDICT_KEY, work, lane="predict", on_done=done,
                           on_error=lambda exc, tb: self.on_failure(image_id, f"{type(exc).__name__}: {exc}", tb))
        return True

    def forget(self) -> None:
        """Another project: drop the pending request and what was predicted last."""
        self.runner.cancel(PREDICT_KEY)
        self._last = None
