"""Files of a training run: claiming its folder, and ``metrics.jsonl`` written one whole record at a time.

* A new run never reuses a folder that holds another run (``train --out EXISTING`` is refused unless
  it resumes), and two trainings can never write into one folder at once: the new run creates
  ``metrics.jsonl`` exclusively and holds an advisory lock on it while it trains.
* Each metrics record is one line handed to the kernel in one ``write`` on an ``O_APPEND`` file, so
  a killed process leaves whole lines; a partial last line (a torn write, a full disk) is cut off
  before a resumed run appends. A failing disk stops the logging with one warning, not the training.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from segstudio.core.errors import SaveError, SegstudioError

METRICS_FILE = "metrics.jsonl"


def check_run_dir(path: str | Path, resume: bool) -> None:
    """SegstudioError when a new run may not use ``path`` (a file, or a folder that is not empty)."""
    if resume:
        return
    path = Path(path)
    if path.is_file():
        raise SegstudioError(f"run folder {path} is a file; give a new --out folder")
    try:
        used = path.is_dir() and any(path.iterdir())
    except OSError as exc:
        raise SaveError(path, exc.strerror or str(exc)) from None
    if used:
        raise SegstudioError(f"run folder {path} already exists and is not empty; give a new --out, or continue "
                             f"that run with --resume {path / 'last.pt'}")


def truncate_partial_line(path: str | Path) -> int:
    """Cut a last line that has no newline (half a record) off a regular file; returns bytes removed."""
    path = Path(path)
    try:
        size = path.stat().st_size if path.is_file() else 0
        if size == 0:
            return 0
        with open(path, "rb+") as fh:
            pos = size
            while pos > 0:
                start = max(0, pos - 65536)
                fh.seek(start)
                chunk = fh.read(pos - start)
                if pos == size and chunk.endswith(b"\n"):
                    return 0
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    keep = start + nl + 1
                    break
                pos = start
            else:
                keep = 0
            fh.truncate(keep)
            return size - keep
    except OSError as exc:
        raise SaveError(path, exc.strerror or str(exc)) from None


def _lock(fd: int) -> bool:
    """An exclusive advisory lock on ``fd`` (False: another process holds it)."""
    try:
        import fcntl
    except ImportError:  # Windows: the exclusive creation of a new run's file still guards it
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True  # a file system without locks
    return True


@dataclass
class MetricsLog:
    """``metrics.jsonl`` of one run (see module docstring)."""

    path: Path
    fd: int | None
    failed: bool = False

    @classmethod
    def open(cls, path: str | Path, new_run: bool) -> "MetricsLog":
        """Open for appending; a ``new_run`` creates the file exclusively (claiming the run folder)."""
        path = Path(path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (os.O_EXCL if new_run else 0)
        try:
            if not new_run:
                truncate_partial_line(path)
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise SegstudioError(f"run folder {path.parent} is already used by another training; "
                                 "give a new --out") from None
        except OSError as exc:
            raise SaveError(path, exc.strerror or str(exc)) from None
        if not _lock(fd):
            os.close(fd)
            raise SegstudioError(f"run folder {path.parent} is in use by another training process; "
                                 "wait for it to finish or give a new --out")
        return cls(path, fd)

    def write(self, record: dict) -> str | None:
        """Append one record as one line; returns a warning (once) when the disk refuses it."""
        if self.fd is None or self.failed:
            return None
        data = (json.dumps(record) + "\n").encode("utf-8")
        try:
            written = os.write(self.fd, data)
            if written != len(data):  # a short write (the disk filled up): take the half line back
                try:
                    os.ftruncate(self.fd, max(0, os.fstat(self.fd).st_size - written))
                except OSError:
                    pass
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            self.failed = True
            return f"cannot write {self.path}: {exc.strerror or exc}; metrics are no longer logged for this run"
        return None

    def flush(self) -> None:
        """Nothing to do: every record went to the kernel when it was written."""

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
