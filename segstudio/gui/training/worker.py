"""The in-process training: the engine's Trainer run as a job on the runner's "train" lane (a QThread).

The GUI thread never runs torch. Engine callbacks land in an :class:`EventBuffer`, which pokes the job's
progress channel; on the GUI thread the buffer is drained (at most every ``interval_ms``) into the
:class:`TrainingEvents` signals of :class:`TrainingController`. Stop asks the trainer to finish after
the current batch (its end event still arrives); closing the window cancels the job and joins it.
Saved masks (:meth:`TrainingController.mark_changed`) and the image on screen
(:meth:`TrainingController.set_preview_image`) reach the running trainer through its ``LiveData``.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Signal

from segstudio.gui.jobs import Job, JobRunner
from segstudio.gui.training.relay import EventBuffer, TrainingEvents, emit_drained

TRAIN_KEY = "train"


def worker_torch_threads() -> int:
    """Intra-op threads for training on the CPU: the engine's one rule, leaving a core to the GUI thread."""
    from segstudio.engine.threads import torch_threads  # counts only: no torch import

    return torch_threads(gui=True)


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


def prepare_compute_thread() -> None:
    """Once per worker thread that runs torch: lower its priority and size torch's thread pool."""
    local = _thread_state
    if getattr(local, "prepared", False):
        return
    local.prepared = True
    lower_thread_priority()
    import torch

    torch.set_num_threads(worker_torch_threads())


_thread_state = threading.local()
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


Box = tuple[int, int, int, int]


class _RunHandle:
    """Shared between the GUI thread and the training thread: the trainer, its live data, stop.

    Marks and the preview image given before the training thread has made the trainer's
    :class:`~segstudio.engine.live_data.LiveData` are kept and handed over when it exists."""

    def __init__(self, preview_image: str | None) -> None:
        self.lock = threading.Lock()
        self.trainer: Any = None
        self.live: Any = None  # the run's LiveData (made on the training thread: the engine is imported there)
        self.preview = preview_image
        self.pending_marks: list[tuple[str, Box | None]] = []
        self.stopped = False

    def bind_live(self, live: Any) -> None:
        """The run's LiveData exists: hand over the preview image and what was saved meanwhile."""
        with self.lock:
            self.live = live
            marks, self.pending_marks = self.pending_marks, []
            preview = self.preview
        if preview is not None:
            live.set_preview_image(preview)
        for image_id, box in marks:
            live.mark_changed(image_id, box)

    def attach(self, trainer: Any) -> None:
        with self.lock:
            self.trainer = trainer
            if self.stopped:
                trainer.cancel()

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            trainer = self.trainer
        if trainer is not None:
            trainer.cancel()

    def set_preview(self, image_id: str | None) -> None:
        with self.lock:
            self.preview = image_id
            live = self.live
        if live is not None:
            live.set_preview_image(image_id)

    def mark_changed(self, image_id: str, box: Box | None) -> None:
        with self.lock:
            live = self.live
            if live is None:
                self.pending_marks.append((image_id, box))
        if live is not None:
            live.mark_changed(image_id, box)


def run_training(job: Job, project_root: Path, config: dict, buffer: EventBuffer, handle: _RunHandle) -> Any:
    """The training job (on the "train" lane): returns the TrainEnd (or a look-alike); never raises."""
    seen = SimpleNamespace(end=False)

    class _EndTracker:
        def on_end(self, ev) -> None:
            seen.end = True

    try:
        prepare_compute_thread()
        from segstudio.engine.config import TrainConfig
        from segstudio.engine.live_data import LiveData
        from segstudio.engine.trainer import Trainer

        freeze_gc()
        cfg = TrainConfig.from_json(config)
        if cfg.init is not None and "model" not in config:  # a checkpoint brings its own model
            from segstudio.engine.init_from import init_architecture

            cfg.model, cfg.model_args = init_architecture(cfg.init)
        live = LiveData()
        handle.bind_live(live)
        trainer = Trainer(project_root, cfg, callbacks=[buffer, _EndTracker()], live_data=live)
        handle.attach(trainer)
        job.token.on_cancel(trainer.cancel)
        return trainer.run()
    except BaseException as exc:  # noqa: BLE001 - everything must reach the panel, the app keeps running
        end = failed_end(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        if not seen.end:
            buffer.on_end(end)
        return end


class TrainingController(TrainingEvents):
    """Starts and stops the in-process training and re-emits its events (the :class:`TrainingEvents`
    signals) on the GUI thread."""

    runningChanged = Signal(bool)

    def __init__(self, runner: JobRunner, parent: QObject | None = None, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self.runner = runner
        self.interval_ms = interval_ms
        self.last_end = None
        self._buffer: EventBuffer | None = None
        self._handle: _RunHandle | None = None
        self._saved_switch_interval: float | None = None
        self._held_ends: list[Any] = []  # the trainer's end event, emitted once the job has finished

    def is_running(self) -> bool:
        return self._handle is not None

    def start(self, project_root: str | Path, config: dict, preview_image: str | None = None) -> None:
        """Start a training in the background."""
        if self.is_running():
            raise RuntimeError("a training is already running")
        buffer = EventBuffer()
        handle = _RunHandle(preview_image)
        self._held_ends = []
        self._buffer, self._handle = buffer, handle
        root, cfg = Path(project_root), dict(config)

        def work(job: Job) -> Any:
            buffer.notify = job.report
            return run_training(job, root, cfg, buffer, handle)

        # hand the GIL over more often while the worker runs Python code, so the GUI thread (slots,
        # pyqtgraph painting) waits at most ~1 ms for it instead of 5 ms
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_switch_interval, GUI_SWITCH_INTERVAL_S))
        self.runner.submit(TRAIN_KEY, work, lane="train", on_progress=lambda _p: self._drain(),
                           on_done=self._on_done, progress_interval_ms=self.interval_ms)
        self.runningChanged.emit(True)

    def stop(self) -> None:
        """Ask the trainer to stop after the current batch (``runningChanged(False)`` follows)."""
        if self._handle is not None:
            self._handle.stop()

    def set_preview_image(self, image_id: str | None) -> None:
        """The image on screen: the trainer's next preview is of this image (at the next step)."""
        if self._handle is not None:
            self._handle.set_preview(image_id)

    def mark_changed(self, image_id: str, box: Box | None = None) -> None:
        """A mask of the project was saved: the trainer takes it between two steps (``box``: the edited
        region, x0, y0, x1, y1 in image pixels; None = the whole image)."""
        if self._handle is not None:
            self._handle.mark_changed(image_id, box)

    def _drain(self) -> None:
        """Emit what the trainer reported; its end is held back until the job has finished (see _on_done)."""
        if self._buffer is None:
            return
        d = self._buffer.drain()
        self._held_ends += [ev for kind, ev in d.events if kind == "end"]
        d.events = [(kind, ev) for kind, ev in d.events if kind != "end"]
        emit_drained(self, d)

    def _on_done(self, end: Any) -> None:
        """The job finished: the last events, ``runningChanged(False)``, then ``ended`` (so a slot of
        ``ended`` sees the controller idle and may start the next training)."""
        self.last_end = end
        self._drain()
        ends, self._held_ends = self._held_ends, []
        self._finish()
        for ev in ends:
            self.ended.emit(ev)

    def _finish(self) -> None:
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None
        was = self._handle is not None
        self._buffer = self._handle = None
        if was:
            self.runningChanged.emit(False)

    def shutdown(self) -> None:
        """The window closes: stop the training (the runner's shutdown joins its thread)."""
        self.stop()
        self.runner.cancel(TRAIN_KEY)
        self._finish()
