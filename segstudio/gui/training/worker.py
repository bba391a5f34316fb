"""The training worker: a QObject on its own QThread that runs the engine's Trainer.

The GUI thread never runs torch. Engine callbacks land in an :class:`EventBuffer`; an
:class:`EventPump` on the GUI thread turns them into throttled signals. :class:`TrainingController`
owns the thread, the worker and the pump, and stops them cleanly (cancel, then join).
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QObject, QThread, Signal, Slot

from segstudio.gui.training.relay import EventBuffer, EventPump, TrainingEvents


def worker_torch_threads() -> int:
    """Intra-op threads for training on the CPU: leave one core to the GUI thread."""
    env = os.environ.get("SEGSTUDIO_TORCH_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


#: GIL switch interval while a training runs (Python's default is 5 ms)
GUI_SWITCH_INTERVAL_S = 0.001
#: nice increment of background compute threads (Linux: per thread), so the GUI thread wins the CPU
BACKGROUND_NICE = 10


def lower_thread_priority(increment: int = BACKGROUND_NICE) -> None:
    """Make the calling (worker) thread yield the CPU to the GUI thread; no-op where unsupported."""
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
    except (AttributeError, OSError):
        pass


_gc_frozen = False


def freeze_gc() -> None:
    """Once per process, after the engine is imported: move the objects alive now (torch's modules:
    hundreds of thousands) out of the garbage collector's view, so a full collection triggered by a
    worker thread does not hold the GIL (and freeze the GUI thread) for tens of milliseconds."""
    global _gc_frozen
    if _gc_frozen:
        return
    _gc_frozen = True
    import gc

    gc.collect()
    gc.freeze()


def failed_end(message: str, tb: str | None) -> SimpleNamespace:
    """A TrainEnd look-alike for errors raised before/around the trainer's own reporting."""
    return SimpleNamespace(status="failed", message=message, traceback=tb, run_dir=None, best_miou=None)


class _EndTracker:
    """Callback that only notes whether the trainer reported its end."""

    def __init__(self) -> None:
        self.seen = False

    def on_end(self, ev) -> None:
        self.seen = True


class TrainWorker(QObject):
    """Runs one training (``run`` slot, on the worker thread). ``cancel``/``set_preview_image`` are thread-safe."""

    finished = Signal(object)  # TrainEnd (or look-alike)

    def __init__(self, project_root: str | Path, config: dict, buffer: EventBuffer,
                 preview_image: str | None = None, torch_threads: int | None = None) -> None:
        super().__init__()
        self.project_root = Path(project_root)
        self.config = dict(config)
        self.buffer = buffer
        self.torch_threads = torch_threads or worker_torch_threads()
        self._lock = threading.Lock()
        self._trainer = None
        self._cancelled = False
        self._preview = preview_image
        self.run_dir: Path | None = None

    @Slot()
    def run(self) -> None:
        tracker = _EndTracker()
        end = None
        try:
            lower_thread_priority()
            import torch

            torch.set_num_threads(self.torch_threads)
            from segstudio.engine.config import TrainConfig
            from segstudio.engine.trainer import Trainer

            freeze_gc()

            cfg = TrainConfig.from_json(self.config)
            trainer = Trainer(self.project_root, cfg, callbacks=[self.buffer, tracker])
            with self._lock:
                self._trainer = trainer
                if self._preview is not None:
                    trainer.set_preview_image(self._preview)
                if self._cancelled:
                    trainer.cancel()
            end = trainer.run()
            self.run_dir = getattr(trainer, "run_dir", None)
        except BaseException as exc:  # noqa: BLE001 - everything must reach the panel, the app keeps running
            tb = traceback.format_exc()
            if not tracker.seen:
                end = failed_end(f"{type(exc).__name__}: {exc}", tb)
                self.buffer.on_end(end)
        if end is None:
            end = failed_end("training ended without a result", None)
            if not tracker.seen:
                self.buffer.on_end(end)
        self.finished.emit(end)

    def cancel(self) -> None:
        """Ask the trainer to stop after the current batch (keeps the last checkpoint)."""
        with self._lock:
            self._cancelled = True
            trainer = self._trainer
        if trainer is not None:
            trainer.cancel()

    def set_preview_image(self, image_id: str | None) -> None:
        with self._lock:
            self._preview = image_id
            trainer = self._trainer
        if trainer is not None:
            trainer.set_preview_image(image_id)


class TrainingController(TrainingEvents):
    """Starts/stops trainings on a worker thread and re-emits their events (the
    :class:`TrainingEvents` signals) on the GUI thread."""

    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.thread: QThread | None = None
        self.worker: TrainWorker | None = None
        self.pump: EventPump | None = None
        self.last_end = None
        self._saved_switch_interval: float | None = None

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def start(self, project_root: str | Path, config: dict, preview_image: str | None = None) -> None:
        """Start a training in the background (a previous one that is still finishing is joined first)."""
        if self.is_running():
            raise RuntimeError("a training is already running")
        self._cleanup()
        buffer = EventBuffer()
        self.pump = EventPump(buffer, self.interval_ms, self)
        self.pump.forward_to(self)
        self.worker = TrainWorker(project_root, config, buffer, preview_image)
        self.thread = QThread()
        self.thread.setObjectName("segstudio-training")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self._on_worker_finished)
        if self._saved_switch_interval is None:
            # hand the GIL over more often while the worker runs Python code, so the GUI thread
            # (slots, pyqtgraph painting) waits at most ~1 ms for it instead of 5 ms
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch_interval, GUI_SWITCH_INTERVAL_S))
        self.thread.start()
        self.pump.start()
        self.runningChanged.emit(True)

    def stop(self) -> None:
        """Request cancellation (returns at once; ``runningChanged(False)`` follows within a second or so)."""
        if self.worker is not None:
            self.worker.cancel()

    def set_preview_image(self, image_id: str | None) -> None:
        if self.worker is not None:
            self.worker.set_preview_image(image_id)

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Cancel and join the worker thread (blocking, for window close). True when it ended in time."""
        if self.thread is None:
            return True
        self.stop()
        self.thread.quit()  # honoured once run() returns
        if not self.thread.wait(max(1, int(timeout_s * 1000))):
            return False  # should not happen: the trainer honours cancel between batches
        self._finish()
        return True

    @Slot(object)
    def _on_worker_finished(self, end) -> None:
        self.last_end = end
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(5000)
        self._finish()

    def _finish(self) -> None:
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None
        if self.pump is not None:
            self.pump.stop()  # deliver what is still buffered (ends with `ended`)
        was = self.thread is not None
        self._cleanup()
        if was:
            self.runningChanged.emit(False)

    def _cleanup(self) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(5000)
            self.thread.deleteLater()
        if self.worker is not None:
            self.worker.deleteLater()
        if self.pump is not None:
            self.pump.deleteLater()
        self.thread = self.worker = self.pump = None
