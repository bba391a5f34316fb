"""Thread-safe, throttled hand-over of trainer events to the GUI thread.

The engine calls callbacks on the worker thread. :class:`EventBuffer` (no Qt) stores them under a
lock: step events are coalesced (every loss is kept as a plain float pair for the curve, but only
the latest step event is kept for the progress bar), previews are "latest wins", and the rare
events (start, epoch end, checkpoint, warnings, end) are queued in order. After each event it pokes
``notify`` (the training job's ``report``); the job runner coalesces the pokes and, on the GUI
thread, :func:`emit_drained` turns what was buffered into :class:`TrainingEvents` signals at most
every ~100 ms, so the event loop never floods however fast the trainer steps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from typing import Callable

from PySide6.QtCore import QObject, Signal

import numpy as np

#: Longest list of raw step losses kept between two drains (older ones are thinned out).
MAX_PENDING_STEPS = 20000


@dataclass
class Drained:
    """What one drain of the buffer returns."""

    steps: list[tuple[int, float]] = field(default_factory=list)  # (global_step, loss)
    last_step: Any = None  # the latest StepEvent (or None)
    preview: Any = None  # the latest PreviewEvent (or None)
    events: list[tuple[str, Any]] = field(default_factory=list)  # ordered rare events

    def empty(self) -> bool:
        return not self.steps and self.last_step is None and self.preview is None and not self.events


class EventBuffer:
    """Engine callback object (the trainer's ``on_*`` callbacks) that buffers events for the GUI thread;
    ``notify()`` is called (outside the lock) after each one."""

    def __init__(self, notify: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._pending = Drained()
        self.notify = notify

    # ---- engine callbacks (worker thread)
    def on_train_start(self, ev) -> None:
        self._push("start", ev)

    def on_step(self, ev) -> None:
        with self._lock:
            steps = self._pending.steps
            steps.append((int(ev.global_step), float(ev.loss)))
            if len(steps) > MAX_PENDING_STEPS:  # GUI stalled: keep every other point
                del steps[::2]
            self._pending.last_step = ev
        self.notify()

    def on_epoch_end(self, ev) -> None:
        self._push("epoch", ev)

    def on_preview(self, ev) -> None:
        ev = _copy_preview(ev)
        with self._lock:
            self._pending.preview = ev
        self.notify()

    def on_checkpoint(self, ev) -> None:
        self._push("checkpoint", ev)

    def on_batch_size_reduced(self, ev) -> None:
        self._push("batch_size", ev)

    def on_live_data(self, ev) -> None:
        self._push("live_data", ev)

    def on_warning(self, message: str) -> None:
        self._push("warning", str(message))

    def on_end(self, ev) -> None:
        self._push("end", ev)

    # ---- GUI side
    def drain(self) -> Drained:
        """Take everything buffered so far (thread-safe)."""
        with self._lock:
            out, self._pending = self._pending, Drained()
        return out

    def _push(self, kind: str, ev: Any) -> None:
        with self._lock:
            self._pending.events.append((kind, ev))
        self.notify()


def _copy_preview(ev):
    """Make sure the preview arrays are owned numpy copies (never views into engine buffers)."""
    try:
        ev.mask = np.array(ev.mask, dtype=np.uint8, copy=True)
        if getattr(ev, "confidence", None) is not None:
            ev.confidence = np.array(ev.confidence, dtype=np.float32, copy=True)
    except (AttributeError, TypeError):  # frozen or foreign event: leave as is
        pass
    return ev


class TrainingEvents(QObject):
    """The signals that carry trainer events on the GUI thread (see :class:`EventPump`)."""

    #: the signal names, in declaration order
    SIGNAL_NAMES = ("started", "steps", "epochEnded", "preview", "checkpointSaved", "batchSizeReduced",
                    "liveDataPicked", "warning", "ended")

    started = Signal(object)
    steps = Signal(object, object)
    epochEnded = Signal(object)
    preview = Signal(object)
    checkpointSaved = Signal(object)
    batchSizeReduced = Signal(object)
    liveDataPicked = Signal(object)  # LiveDataPicked: a saved edit reached the training batches
    warning = Signal(str)
    ended = Signal(object)


def emit_drained(target: TrainingEvents, d: Drained) -> None:
    """Emit one drain of the buffer from ``target``: ``started`` first, then ``steps(points, last)``, the
    rare events in order, the latest ``preview``, and ``ended`` last."""
    if d.empty():
        return
    for kind, ev in d.events:
        if kind == "start":
            target.started.emit(ev)
    if d.steps or d.last_step is not None:
        target.steps.emit(d.steps, d.last_step)
    ended = []
    for kind, ev in d.events:
        if kind == "epoch":
            target.epochEnded.emit(ev)
        elif kind == "checkpoint":
            target.checkpointSaved.emit(ev)
        elif kind == "batch_size":
            target.batchSizeReduced.emit(ev)
        elif kind == "live_data":
            target.liveDataPicked.emit(ev)
        elif kind == "warning":
            target.warning.emit(ev)
        elif kind == "end":
            ended.append(ev)
    if d.preview is not None:
        target.preview.emit(d.preview)
    for ev in ended:
        target.ended.emit(ev)
