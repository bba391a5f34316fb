"""Paths: natural sort, per-user folders, and keeping paths read from files inside their folder."""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path

from segstudio.core.errors import InvalidPathError, UnsafePathError

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> list:
    """Sort key so that 'img2' < 'img10' (case-insensitive)."""
    return [int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(text)]


def user_data_dir() -> Path:
    """Per-user data folder (demo project, crash recovery). ``SEGSTUDIO_DATA_DIR`` overrides it."""
    override = os.environ.get("SEGSTUDIO_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "segstudio"


def user_log_dir() -> Path:
    """Per-user log folder. ``SEGSTUDIO_LOG_DIR`` overrides it."""
    override = os.environ.get("SEGSTUDIO_LOG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32" or sys.platform == "darwin":
        return user_data_dir() / "logs"
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "segstudio"


def resolve_inside(base: str | Path, relative: str) -> Path:
    """Resolve ``relative`` (as read from a file) against ``base``; refuse anything outside it.

    Absolute paths, ``..`` escapes, drive letters and symlinks leading out are all refused with
    :class:`UnsafePathError`.
    """
    base_path = Path(base).resolve()
    rel = str(relative).replace("\\", "/")
    if not rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel) or "\x00" in rel:
        raise UnsafePathError(str(relative), base_path)
    try:
        rel.encode(sys.getfilesystemencoding())
        candidate = (base_path / rel).resolve()
        os.lstat(candidate)  # ENAMETOOLONG and friends surface here, not later in an is_file()
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (UnicodeError, ValueError) as exc:
        raise InvalidPathError(str(relative), type(exc).__name__) from None
    except RuntimeError:  # a symlink loop
        raise InvalidPathError(str(relative), "symlink loop") from None
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.EINVAL, errno.ELOOP):
            raise InvalidPathError(str(relative), exc.strerror or str(exc)) from None
    if candidate != base_path and base_path not in candidate.parents:
        raise UnsafePathError(str(relative), base_path)
    return candidate
