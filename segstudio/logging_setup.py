"""Logging for every entry point, safe for a start without a console. No Qt, no torch.

:func:`setup_logging` (called first thing by ``segstudio.cli.main``) sends the ``segstudio``
loggers to ``user_log_dir()/segstudio.log`` and keeps warnings on stderr as before. When
``sys.stdout``/``sys.stderr`` are None — a gui-script on Windows (pythonw), a windowed frozen
app — they are replaced by the log file, so ``print``, tracebacks and warnings land there instead
of crashing the app, and ``faulthandler`` writes native crashes there too. The log file never
raises: when its disk is full (or it is gone), what cannot be written is dropped, so logging can
never stop a command.
"""

from __future__ import annotations

import faulthandler
import io
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from segstudio.core.paths import user_log_dir

LOG_FILE_NAME = "segstudio.log"
#: A log file larger than this is moved to ``segstudio.log.1`` when the next process starts.
MAX_LOG_BYTES = 2 * 1024 * 1024
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [pid %(process)d]: %(message)s"
LOGGER_NAME = "segstudio"


@dataclass
class LoggingState:
    """What :func:`setup_logging` did: the log file (None if none could be opened) and redirections."""

    log_file: Path | None
    redirected_stdout: bool
    redirected_stderr: bool


_state: LoggingState | None = None
_handlers: list[logging.Handler] = []
_stream: IO[str] | None = None
_requested: Path | None = None


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (survives pytest capture, redirection)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401 - property
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; always follow sys.stderr
        pass

    def emit(self, record: logging.LogRecord) -> None:
        if sys.stderr is not None:
            super().emit(record)


class SafeStream(io.TextIOBase):
    """A text stream whose writes never raise: on the first failure (disk full, file gone) it stops
    writing and drops the rest, so a log can never stop a command."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner
        self.failed = False

    def write(self, text: str) -> int:  # type: ignore[override]
        if not self.failed:
            try:
                self._inner.write(text)
            except (OSError, ValueError):
                self.failed = True
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._inner.flush()
            except (OSError, ValueError):
                self.failed = True

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")

    def close(self) -> None:
        try:
            self._inner.close()
        except OSError:
            pass
        super().close()


def default_log_file() -> Path:
    """Where this process logs: ``user_log_dir()/segstudio.log`` (``segstudio-rank<N>.log`` under torchrun)."""
    rank = os.environ.get("RANK", "0")
    name = LOG_FILE_NAME if rank in ("", "0") else f"segstudio-rank{rank}.log"
    return user_log_dir() / name


def log_file_path() -> Path | None:
    """The file this process logs to once :func:`setup_logging` ran, else where it would log."""
    if _state is not None:
        return _state.log_file
    return default_log_file()


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass  # missing file, or another process holds it (Windows): keep appending


def _open_log(path: Path) -> tuple[IO[str], Path] | None:
    """Open ``path`` for appending (line-buffered), falling back to the temp folder; None if both fail."""
    fallback = Path(tempfile.gettempdir()) / "segstudio-logs" / path.name
    for candidate in (path, fallback):
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            _rotate(candidate)
            stream = open(candidate, "a", encoding="utf-8", errors="replace", buffering=1)
            return SafeStream(stream), candidate
        except OSError:
            continue
    return None


def _reset() -> None:
    """Undo a previous setup (handlers); the log stream stays open while stdout/stderr may use it."""
    global _state
    logger = logging.getLogger(LOGGER_NAME)
    for handler in _handlers:
        logger.removeHandler(handler)
    _handlers.clear()
    _state = None


def setup_logging(level: int | str | None = None, log_file: str | Path | None = None) -> LoggingState:
    """Configure logging for this process; idempotent (a second call for the same file is a no-op).

    ``level`` defaults to ``$SEGSTUDIO_LOG_LEVEL`` or INFO; ``log_file`` to :func:`default_log_file`.
    Never raises: if no log file can be opened, logging goes to stderr only (or nowhere).
    """
    global _state, _stream, _requested
    target = Path(log_file) if log_file is not None else default_log_file()
    if _state is not None and _requested == target:
        return _state
    if _state is not None:
        _reset()
    _requested = target
    if level is None:
        level = os.environ.get("SEGSTUDIO_LOG_LEVEL", "INFO").upper()
    logger = logging.getLogger(LOGGER_NAME)
    try:
        logger.setLevel(level)
    except (ValueError, TypeError):
        logger.setLevel(logging.INFO)

    previous_stream = _stream
    opened = _open_log(target)
    stream, path = opened if opened is not None else (None, None)
    _stream = stream
    if stream is not None:
        file_handler = logging.StreamHandler(stream)
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(file_handler)
        _handlers.append(file_handler)

    # No console (pythonw / windowed frozen app): print(), tracebacks and warnings go to the log.
    redirect_out = sys.stdout is None or (previous_stream is not None and sys.stdout is previous_stream)
    redirect_err = sys.stderr is None or (previous_stream is not None and sys.stderr is previous_stream)
    if redirect_out or redirect_err:
        sink: IO[str] = stream if stream is not None else open(os.devnull, "w", encoding="utf-8")
        if redirect_out:
            sys.stdout = sink
        if redirect_err:
            sys.stderr = sink
            if stream is not None:
                try:
                    faulthandler.enable(file=stream)
                except (OSError, ValueError, RuntimeError):
                    pass
    elif not logging.getLogger().handlers:
        # Warnings still reach the terminal, as they did through logging's last-resort handler
        # (unless the host, e.g. pytest, configured logging itself).
        console = _CurrentStderrHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(console)
        _handlers.append(console)
    if previous_stream is not None and previous_stream is not stream:
        try:
            previous_stream.close()
        except OSError:
            pass

    _state = LoggingState(log_file=path, redirected_stdout=redirect_out, redirected_stderr=redirect_err)
    from segstudio import __version__

    logger.info("segstudio %s starting (python %s, %s, frozen=%s, argv=%s)", __version__,
                sys.version.split()[0], sys.platform, bool(getattr(sys, "frozen", False)), sys.argv[1:])
    if redirect_out or redirect_err:
        logger.info("no console: stdout/stderr go to %s", path if path else os.devnull)
    return _state
