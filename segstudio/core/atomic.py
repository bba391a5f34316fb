"""Atomic file writes: temp file in the same folder, flush + fsync, ``os.replace``.

A crash, a full disk or a failing encoder never leaves a half-written file behind:
the destination either keeps its old content or gets the complete new one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable

from segstudio.core.errors import SaveError


TEMP_SUFFIX = ".tmp"
#: Our temp files: ``.<name>.<pid>.<random>.tmp`` (``.<name>.<random>.tmp`` before the pid was added);
#: ``tempfile.mkstemp`` draws the random part from ``[a-z0-9_]``, 8 characters.
TEMP_PATTERN = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{8}\.tmp$")
#: A temp file whose writer may still be alive is only removed once it is this old (seconds).
STALE_TEMP_SECONDS = 30.0


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and not thread-safe


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (no-op where folders cannot be fsynced)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fileobj)`` on a temp file next to ``path`` and move it into place.

    Raises :class:`SaveError` naming ``path`` if anything fails; the old file is untouched
    and the temp file removed.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise SaveError(path, exc.strerror or str(exc)) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            try:
                os.chmod(tmp, path.stat().st_mode & 0o7777)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise SaveError(path, exc.strerror or str(exc)) from exc
        raise
    fsync_dir(folder)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically replace ``path`` with ``data``."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically replace ``path`` with UTF-8 ``text``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically replace ``path`` with ``obj`` as indented JSON (UTF-8; text that UTF-8 cannot hold,
    such as a lone surrogate read from another file, is written as a JSON escape)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = (json.dumps(obj, indent=2, ensure_ascii=True) + "\n").encode("ascii")
    return atomic_write_bytes(path, data)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists (someone else's), or cannot tell: assume alive
    return True


def is_stale_temp_file(path: str | Path, now: float | None = None, max_age: float = STALE_TEMP_SECONDS) -> bool:
    """True for one of our temp files whose writer is gone: its process is dead, or it is older than
    ``max_age`` seconds (an atomic write takes far less; an active write keeps its mtime fresh)."""
    path = Path(path)
    match = TEMP_PATTERN.match(path.name)
    if match is None:
        return False
    try:
        st = path.lstat()
    except OSError:
        return False
    if not os.path.isfile(path) or os.path.islink(path):
        return False
    pid = match.group("pid")
    if pid is not None and not _pid_alive(int(pid)):
        return True
    return (time.time() if now is None else now) - st.st_mtime > max_age


def remove_stale_temp_files(folders: Iterable[str | Path], recursive: bool = True,
                            skip_dirs: Iterable[str] = ()) -> list[Path]:
    """Delete temp files left by killed processes (see :func:`is_stale_temp_file`) in ``folders``.

    Only names matching :data:`TEMP_PATTERN` are touched; hidden folders and ``skip_dirs`` are not
    entered; symlinks are never followed. Errors (read-only folder, races) are ignored. Returns
    the files removed.
    """
    removed: list[Path] = []
    skip = set(skip_dirs)
    now = time.time()
    for folder in folders:
        pending = [Path(folder)]
        while pending:
            current = pending.pop()
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if recursive and not name.startswith(".") and name not in skip:
                            pending.append(Path(entry.path))
                    elif name.startswith(".") and name.endswith(TEMP_SUFFIX) and is_stale_temp_file(entry.path, now):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    continue
    return removed
