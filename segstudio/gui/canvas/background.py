"""Heavy per-pixel canvas work (overlay colouring, reduced zoom levels) off the GUI thread.

:class:`BackgroundJobs` runs plain functions (numpy / OpenCV, which release the GIL on large arrays)
on a shared QThreadPool (two threads) and hands each result to a callback on the GUI thread. Jobs have a key;
submitting again under the same key (or :meth:`cancel`) makes the older result stale: it is dropped,
so a prediction for an image the user has left never lands on the next one.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


_POOL: QThreadPool | None = None


def _pool() -> QThreadPool:
    """One pool for every canvas (not a child of a widget: closing a window never waits on it)."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(2)
    return _POOL


class _Relay(QObject):
    """Carries a result from a pool thread to the GUI thread. Parentless and kept alive by the jobs, so a
    job finishing after its canvas was deleted emits into a dropped connection instead of a dead object."""

    finished = Signal(str, int, object, object)  # key, token, result, error


class _Job(QRunnable):
    def __init__(self, relay: _Relay, key: str, token: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._relay, self._key, self._token, self._fn = relay, key, token, fn

    def run(self) -> None:
        try:
            result, error = self._fn(), None
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread
            result, error = None, exc
        try:
            self._relay.finished.emit(self._key, self._token, result, error)
        except RuntimeError:  # interpreter shutting down
            pass


class BackgroundJobs(QObject):
    """Latest-wins background jobs whose results come back on the thread that owns this object."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = _Relay()
        self._relay.finished.connect(self._deliver)
        self._tokens: dict[str, int] = {}
        self._callbacks: dict[str, Callable[[Any], None]] = {}
        self._counter = 0

    def submit(self, key: str, fn: Callable[[], Any], callback: Callable[[Any], None]) -> None:
        """Run ``fn()`` in the pool; ``callback(result)`` runs on this object's thread unless superseded."""
        self._counter += 1
        self._tokens[key] = self._counter
        self._callbacks[key] = callback
        _pool().start(_Job(self._relay, key, self._counter, fn))

    def cancel(self, key: str | None = None) -> None:
        """Forget the pending result of ``key`` (all keys when None); the work itself finishes harmlessly."""
        keys = list(self._tokens) if key is None else [key]
        for k in keys:
            self._tokens.pop(k, None)
            self._callbacks.pop(k, None)

    def pending(self, key: str | None = None) -> bool:
        """True while a result is awaited (for ``key``, or for any key)."""
        return bool(self._tokens) if key is None else key in self._tokens

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the pool is idle (window close, tests); results still arrive through the event loop."""
        return bool(_pool().waitForDone(timeout_ms))

    def _deliver(self, key: str, token: int, result: Any, error: Any) -> None:
        if self._tokens.get(key) != token:
            return  # superseded or cancelled
        del self._tokens[key]
        callback = self._callbacks.pop(key)
        if error is not None:
            raise error  # a bug in the job: surface it (sys.excepthook) rather than hide it
        callback(result)
