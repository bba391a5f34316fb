"""The GUI's one background-job runner: keyed, latest-wins, cancellable, results on the GUI thread.

Every piece of background work of the window goes through :class:`JobRunner`: training, single-image
prediction, "Predict all", import/export, thumbnails and label statuses, image decoding and prefetching,
the canvas' overlay preparation and the device probe. A job is a plain function ``fn(job)`` run on a
worker thread of its *lane* (a QThread pulling from a priority queue); it checks ``job.cancelled`` (or
registers ``job.token.on_cancel``) and may call ``job.report(payload)`` to send progress. Its result,
error and progress reach the callbacks on the GUI thread. Submitting under a key that is already
pending cancels the older job and drops its result (latest wins), so a prediction of an image the user
has left never lands on the next one. :meth:`JobRunner.shutdown` cancels everything and joins the
threads (window close). A job that fails without an ``on_error`` callback is logged with its traceback
and reported through ``jobFailed``: nothing fails silently.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal

log = logging.getLogger(__name__)

#: lane -> worker threads. "io": decoding, thumbnails, statuses, overlays; "predict": the image on screen;
#: "batch": predict all, import/export, device probe; "train": the in-process training.
DEFAULT_LANES = {"io": 2, "predict": 1, "batch": 1, "train": 1}


class Cancelled(Exception):
    """Raised inside a job (``job.check()``) once it is no longer wanted."""


class CancelToken:
    """Thread-safe cancel flag; callbacks registered with :meth:`on_cancel` run once when it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            try:
                cb()
            except Exception:  # noqa: BLE001 - a cancel hook must not break the canceller
                log.error("cancel callback failed", exc_info=True)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when cancelled (at once if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()


@dataclass(eq=False)
class Job:
    """One submitted job; the function receives it as its only argument."""

    key: str
    fn: Callable[["Job"], Any]
    lane: str
    priority: int = 0
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException, str], None] | None = None
    on_progress: Callable[[Any], None] | None = None
    progress_interval_ms: int = 0
    token: CancelToken = field(default_factory=CancelToken)
    runner: "JobRunner | None" = None
    result: Any = None
    error: BaseException | None = None
    trace: str = ""
    done: bool = False
    _progress: Any = None
    _progress_pending: bool = False
    _last_progress: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def check(self) -> None:
        """Raise :class:`Cancelled` when the job is no longer wanted (call between units of work)."""
        if self.token.cancelled:
            raise Cancelled()

    def report(self, payload: Any = None) -> None:
        """Send progress to ``on_progress`` on the GUI thread; payloads sent faster than they are delivered
        are coalesced (the latest wins), so the event loop never floods."""
        with self._lock:
            self._progress = payload
            if self._progress_pending:
                return
            self._progress_pending = True
        runner = self.runner
        if runner is not None:
            runner._relay_progress(self)

    def take_progress(self) -> Any:
        with self._lock:
            self._progress_pending = False
            payload, self._progress = self._progress, None
        return payload


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from workers are queued to it."""

    finished = Signal(object)
    progressed = Signal(object)


class _LaneThread(QThread):
    def __init__(self, lane: str, tasks: "queue.PriorityQueue", relay: _Relay) -> None:
        super().__init__()
        self.setObjectName(f"segstudio-{lane}")
        self._tasks, self._relay = tasks, relay

    def run(self) -> None:
        while True:
            _prio, _seq, job = self._tasks.get()
            if job is None:
                return
            if job.token.cancelled:
                job.done = True
                continue
            try:
                job.result = job.fn(job)
            except Cancelled:
                job.token.cancel()
            except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
                job.error, job.trace = exc, traceback.format_exc()
            job.done = True
            try:
                self._relay.finished.emit(job)
            except RuntimeError:  # the runner is gone (interpreter shutting down)
                return


_RUNNERS: "weakref.WeakSet[JobRunner]" = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """A process ending with runners still alive (a script that never closed its window): join their
    threads first, so Qt never destroys a running QThread."""
    for runner in list(_RUNNERS):
        try:
            runner.shutdown(5.0)
        except RuntimeError:  # already deleted on the C++ side
            pass


class JobRunner(QObject):
    """See the module docstring."""

    jobFailed = Signal(str, str, str)  # key, message, traceback (jobs without an on_error)

    def __init__(self, lanes: dict[str, int] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = _Relay()
        self._relay.finished.connect(self._on_finished)
        self._relay.progressed.connect(self._on_progress)
        self._queues: dict[str, queue.PriorityQueue] = {}
        self._threads: list[_LaneThread] = []
        self._lanes = dict(lanes or DEFAULT_LANES)
        self._current: dict[str, Job] = {}
        self._seq = itertools.count()
        self._closed = False
        _RUNNERS.add(self)

    # ---------------------------------------------------------------- submitting
    def submit(self, key: str, fn: Callable[[Job], Any], *, lane: str = "io", priority: int = 0,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException, str], None] | None = None,
               on_progress: Callable[[Any], None] | None = None, progress_interval_ms: int = 0) -> Job:
        """Run ``fn(job)`` on a thread of ``lane`` (lower ``priority`` first). A pending job of the same key
        is cancelled and its result dropped. Callbacks run on the GUI thread, only for the latest job."""
        if self._closed:
            raise RuntimeError("the job runner was shut down")
        if lane not in self._lanes:
            raise ValueError(f"unknown lane {lane!r}; lanes are {', '.join(self._lanes)}")
        old = self._current.get(key)
        if old is not None:
            old.token.cancel()
        job = Job(key, fn, lane, priority, on_done, on_error, on_progress, progress_interval_ms, runner=self)
        self._current[key] = job
        self._queue(lane).put((priority, next(self._seq), job))
        return job

    def cancel(self, key: str) -> None:
        """Cancel the job of ``key`` (its callbacks will not run)."""
        job = self._current.pop(key, None)
        if job is not None:
            job.token.cancel()

    def cancel_prefix(self, prefix: str) -> None:
        """Cancel every job whose key starts with ``prefix``."""
        for key in [k for k in self._current if k.startswith(prefix)]:
            self.cancel(key)

    def pending(self, key: str | None = None) -> bool:
        """True while a result of ``key`` (of any key when None) is still awaited."""
        if key is None:
            return bool(self._current)
        return key in self._current

    def job(self, key: str) -> Job | None:
        return self._current.get(key)

    def wait(self, key: str | None = None, timeout_ms: int = 30000) -> bool:
        """Process events until ``key`` (every job when None) delivered its result; False on timeout."""
        from PySide6.QtCore import QCoreApplication, QEventLoop

        deadline = time.monotonic() + timeout_ms / 1000.0
        while self.pending(key):
            if time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return True

    # ---------------------------------------------------------------- shutting down
    def shutdown(self, timeout_s: float = 15.0) -> bool:
        """Cancel every job and join the worker threads; True when they all ended in time."""
        if self._closed and not any(t.isRunning() for t in self._threads):
            return True
        self._closed = True
        for job in list(self._current.values()):
            job.token.cancel()
        self._current.clear()
        for q in self._queues.values():
            for _ in range(self._lanes_started(q)):
                q.put((-(1 << 62), next(self._seq), None))
        deadline = time.monotonic() + timeout_s
        ok = True
        for thread in self._threads:
            left = max(1, int((deadline - time.monotonic()) * 1000))
            ok = thread.wait(left) and ok
        return bool(ok)

    def _lanes_started(self, q: queue.PriorityQueue) -> int:
        return sum(1 for t in self._threads if t._tasks is q)  # noqa: SLF001

    # ---------------------------------------------------------------- internals
    def _queue(self, lane: str) -> queue.PriorityQueue:
        q = self._queues.get(lane)
        if q is None:
            q = self._queues[lane] = queue.PriorityQueue()
            for _ in range(self._lanes[lane]):
                thread = _LaneThread(lane, q, self._relay)
                thread.start()
                self._threads.append(thread)
        return q

    def _relay_progress(self, job: Job) -> None:
        try:
            self._relay.progressed.emit(job)
        except RuntimeError:
            pass

    def _on_progress(self, job: Job) -> None:
        if self._current.get(job.key) is not job or job.on_progress is None:
            job.take_progress()
            return
        wait_ms = job.progress_interval_ms - (time.monotonic() - job._last_progress) * 1000.0
        if wait_ms > 0:
            QTimer.singleShot(int(wait_ms) + 1, self, lambda: self._deliver_progress(job))
        else:
            self._deliver_progress(job)

    def _deliver_progress(self, job: Job) -> None:
        payload = job.take_progress()
        if self._current.get(job.key) is not job or job.on_progress is None:
            return
        job._last_progress = time.monotonic()
        job.on_progress(payload)

    def _on_finished(self, job: Job) -> None:
        if self._current.get(job.key) is not job:
            return  # superseded or cancelled: dropped
        del self._current[job.key]
        if job.cancelled:
            return
        if job.on_progress is not None and job._progress_pending:
            self._deliver_progress(job)  # what was reported last arrives before the result
        if job.error is not None:
            if job.on_error is not None:
                job.on_error(job.error, job.trace)
            else:
                log.error("background job %s failed:\n%s", job.key, job.trace)
                self.jobFailed.emit(job.key, f"{type(job.error).__name__}: {job.error}", job.trace)
            return
        if job.on_done is not None:
            job.on_done(job.result)
