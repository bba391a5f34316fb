"""``segstudio --self-test``: the shown main window, one short training and one prediction.

Proves that an installed or packaged app works end to end: Qt shows the window on the demo
project, the engine (torch) trains one tiny epoch and predicts one image in a worker thread (the
GUI thread keeps processing events meanwhile), and the prediction is shown on the canvas. Prints
one line — ``self-test ok: ...`` or ``self-test FAILED: ...`` — and returns the exit status. The engine
work runs on the window's job runner, as a training from the panel does.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

#: Seconds the training + prediction may take before the self-test gives up.
DEFAULT_TIMEOUT_S = 600.0


@dataclass
class _EngineResult:
    """Filled in by the worker thread; read by the GUI thread after it ended."""

    losses: list[float] = field(default_factory=list)
    train_s: float = 0.0
    epochs: int = 0
    mask: np.ndarray | None = None
    confidence: np.ndarray | None = None
    torch_version: str = ""
    device: str = ""
    error: str | None = None
    details: str | None = None


class _Recorder:
    """Trainer callbacks (called on the worker thread): keep the step losses and the end status."""

    def __init__(self, result: _EngineResult) -> None:
        self.result = result
        self.end = None

    def on_step(self, ev) -> None:
        self.result.losses.append(float(ev.loss))

    def on_epoch_end(self, ev) -> None:
        self.result.epochs += 1

    def on_end(self, ev) -> None:
        self.end = ev


def _engine_work(project_root: Path, image_path: Path, run_dir: Path, result: _EngineResult,
                 trainer_box: list) -> None:
    """Worker thread: import the engine, train one tiny epoch, load the checkpoint, predict one image."""
    try:
        import torch

        from segstudio.core.image_io import load_image
        from segstudio.engine.config import TrainConfig
        from segstudio.engine.predictor import Predictor
        from segstudio.engine.trainer import Trainer

        result.torch_version = torch.__version__
        config = TrainConfig(model="unet", model_args={"width": 8, "depth": 2}, epochs=1, batch_size=2, crop=64,
                             steps_per_epoch=4, lr=3e-3, val_fraction=0.2, device="auto", precision="auto",
                             out=run_dir, pretrained=False, preview_every_epoch=False, seed=0)
        recorder = _Recorder(result)
        trainer = Trainer(project_root, config, [recorder])
        trainer_box.append(trainer)
        start = time.perf_counter()
        end = trainer.run()
        result.train_s = time.perf_counter() - start
        if end.status != "completed":
            result.error = f"training {end.status}: {end.message}"
            result.details = end.traceback
            return
        result.epochs = max(result.epochs, 1)
        checkpoint = next((p for p in (run_dir / "last.pt", run_dir / "best.pt") if p.is_file()), None)
        if checkpoint is None:
            result.error = f"training wrote no checkpoint in {run_dir}"
            return
        predictor = Predictor.from_checkpoint(checkpoint, device="auto")
        prediction = predictor.predict_image(load_image(image_path))
        result.mask, result.confidence = prediction.mask, prediction.confidence
        result.device = str(predictor.device)
    except BaseException as exc:  # noqa: BLE001 - reported as the self-test's failure
        result.error = f"{type(exc).__name__}: {exc}"
        result.details = traceback.format_exc()


class SelfTestError(RuntimeError):
    """A self-test step failed; the message says which."""


def _pick_image(project) -> str:
    """An image without a mask (a real prediction use), else the first image."""
    images = project.list_images()
    if not images:
        raise SelfTestError(f"the project {project.root} has no images")
    unlabeled = [p for p in images if not project.has_mask(p)]
    return project.image_id((unlabeled or images)[0])


def _run(window, timeout_s: float) -> str:
    app = QApplication.instance()
    if app is None:
        raise SelfTestError("no QApplication")
    if not window.isVisible():
        window.show()
    app.processEvents()
    if not window.isVisible():
        raise SelfTestError("the main window could not be shown")

    from segstudio.core.demo import ensure_demo_project

    demo = Path(ensure_demo_project()).resolve()
    if window.project is None or Path(window.project.root).resolve() != demo:
        if not window.open_project(demo):
            raise SelfTestError(f"cannot open the demo project {demo}: {window.last_error}")
    project = window.project
    image_id = _pick_image(project)
    window.show_image(image_id)
    app.processEvents()
    if window.current_image_id != image_id:
        raise SelfTestError(f"the window did not show image {image_id}")

    run_dir = Path(tempfile.mkdtemp(prefix="segstudio-selftest-")) / "run"
    result = _EngineResult()
    trainer_box: list = []
    key = "self-test"
    root, image_path = Path(project.root), project.image_path(image_id)
    try:
        log.info("self-test: training on %s, predicting %s", project.root, image_id)
        window.runner.submit(key, lambda job: _engine_work(root, image_path, run_dir, result, trainer_box),
                             lane="train")  # the GUI thread keeps processing events meanwhile
        if not window.runner.wait(key, int(timeout_s * 1000)):
            for trainer in trainer_box:
                trainer.cancel()
            window.runner.wait(key, 30000)
            raise SelfTestError(f"training and prediction took longer than {timeout_s:.0f} s")
    finally:
        if not window.runner.pending(key):
            shutil.rmtree(run_dir.parent, ignore_errors=True)
    if result.error:
        if result.details:
            log.error("self-test engine failure:\n%s", result.details)
        raise SelfTestError(result.error)
    if not result.losses:
        raise SelfTestError("training ran no step")
    if result.mask is None or not all(np.isfinite(result.losses)):
        raise SelfTestError(f"no usable result (losses {result.losses[:3]}...)")

    window.set_prediction(image_id, result.mask, result.confidence)
    app.processEvents()
    if not window.canvas.has_prediction:
        raise SelfTestError("the prediction did not reach the canvas")
    height, width = result.mask.shape
    epochs = max(result.epochs, 1)
    return (f"self-test ok: window shown, trained {epochs} epoch{'s' if epochs != 1 else ''} "
            f"(loss {result.losses[0]:.2f} -> {result.losses[-1]:.2f}) in {result.train_s:.1f} s, "
            f"predicted {width}x{height} mask, torch {result.torch_version}, device {result.device}")


def _close(window) -> None:
    """Close the window so that every part stops its background threads before the process exits."""
    try:
        window.close()
        app = QApplication.instance()
        if app is not None:
            app.processEvents()
    except Exception:  # noqa: BLE001 - closing must not turn a result into a crash
        log.warning("self-test: closing the window failed", exc_info=True)


def run_self_test(window, timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    """Run the self-test on the shown ``window``; print one summary line; 0 on success, 1 on failure."""
    try:
        summary = _run(window, timeout_s)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and exit status 1
        if not isinstance(exc, SelfTestError):
            log.error("self-test failure", exc_info=True)
        message = f"self-test FAILED: {exc}"
        log.error(message)
        print(message, flush=True)
        _close(window)
        return 1
    _close(window)
    log.info(summary)
    print(summary, flush=True)
    return 0
