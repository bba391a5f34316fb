"""Project changes as transactions: an undo journal that a failure or the next open rolls back.

Before a transaction writes a file of the project (segstudio.json, a mask, an imported image) it
records it in ``PROJECT/.segstudio/transaction/journal.jsonl``: an existing file is first
hard-linked (or copied) into the transaction folder, a new file or folder is noted as created.
Every journal line is on disk (fsync) before the write it describes. Commit removes the folder
(one rename); rollback puts every backup back, removes what was created, then removes the folder.
A process killed in between leaves the folder behind, and :func:`recover` (called by
``Project.open``) rolls it back, so the project is exactly as it was before the change started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from segstudio.core.atomic import _pid_alive, fsync_dir
from segstudio.core.errors import ProjectError, SaveError

STATE_DIR = ".segstudio"
TXN_NAME = "transaction"
JOURNAL = "journal.jsonl"
_DONE_PREFIX = "transaction.done-"


def _txn_dir(root: Path) -> Path:
    return root / STATE_DIR / TXN_NAME


def _append(fd: int, record: dict) -> None:
    """One journal line in one write, on disk before returning."""
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    if os.write(fd, data) != len(data):
        raise OSError(28, "No space left on device")
    os.fsync(fd)


def _read_journal(folder: Path) -> tuple[dict | None, list[dict]]:
    """(header, entries) of a journal; a torn last line (killed mid-write) is ignored."""
    try:
        lines = (folder / JOURNAL).read_bytes().split(b"\n")
    except OSError:
        return None, []
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            break
        if isinstance(rec, dict):
            records.append(rec)
    if not records or records[0].get("kind") != "begin":
        return None, []
    return records[0], records[1:]


def _discard_folder(folder: Path) -> None:
    """Rename ``folder`` out of the way (atomic), then delete it."""
    done = folder.with_name(_DONE_PREFIX + uuid.uuid4().hex[:8])
    try:
        os.replace(folder, done)
    except OSError:
        done = folder
    shutil.rmtree(done, ignore_errors=True)
    try:
        folder.parent.rmdir()  # .segstudio/, when nothing else lives there: a transaction leaves no trace
    except OSError:
        pass


def _undo(root: Path, folder: Path, entries: list[dict]) -> None:
    """Put the project back as the journal says it was (idempotent: safe to repeat after a crash)."""
    for rec in reversed(entries):
        rel = rec.get("path")
        if not isinstance(rel, str):
            continue
        target = root / rel
        kind = rec.get("kind")
        try:
            if kind == "file" and isinstance(rec.get("backup"), str):
                backup = folder / rec["backup"]
                if backup.exists():
                    os.replace(backup, target)
            elif kind == "file":
                if target.is_file() or target.is_symlink():
                    target.unlink()
            elif kind == "dir" and target.is_dir():
                target.rmdir()  # only when empty: never removes anything it did not create
        except OSError:
            continue
    for folder_path in {(root / r["path"]).parent for r in entries if isinstance(r.get("path"), str)}:
        fsync_dir(folder_path)


def pending(root: str | Path) -> Path | None:
    """The unfinished transaction folder of a project, if any."""
    folder = _txn_dir(Path(root))
    return folder if folder.is_dir() else None


def recover(root: str | Path) -> str | None:
    """Roll back a transaction a killed process left in ``root``; returns what was undone (None: nothing).

    A transaction of a process that is still running on this machine is left alone.
    """
    root = Path(root)
    state = root / STATE_DIR
    if not state.is_dir():
        return None
    for leftover in state.glob(_DONE_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
    folder = _txn_dir(root)
    if not folder.is_dir():
        return None
    header, entries = _read_journal(folder)
    if header is not None and _owner_alive(header):
        return None
    _undo(root, folder, entries)
    _discard_folder(folder)
    op = header.get("op", "a change") if header else "a change"
    return f"rolled back {op!r} left unfinished in {root} ({len(entries)} step(s) undone)"


def _owner_alive(header: dict) -> bool:
    pid = header.get("pid")
    return header.get("host") == socket.gethostname() and isinstance(pid, int) and _pid_alive(pid)


@dataclass
class ProjectTransaction:
    """One open transaction on the project folder ``root`` (see module docstring)."""

    root: Path
    operation: str
    folder: Path
    _fd: int
    _seen: set[str] = field(default_factory=set)
    _entries: list[dict] = field(default_factory=list)
    discarded: bool = False
    closed: bool = False

    @classmethod
    def begin(cls, root: str | Path, operation: str) -> "ProjectTransaction":
        """Start a transaction (after rolling back one a killed process left behind)."""
        root = Path(root).absolute()
        recover(root)
        folder = _txn_dir(root)
        try:
            folder.parent.mkdir(exist_ok=True)
            folder.mkdir()
        except FileExistsError:
            header, _ = _read_journal(folder)
            who = f" (pid {header.get('pid')})" if header else ""
            raise ProjectError(f"{root} is being changed by another segstudio process{who}; "
                               "try again when it has finished") from None
        except OSError as exc:
            raise SaveError(folder, exc.strerror or str(exc)) from exc
        try:
            fd = os.open(folder / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            _append(fd, {"kind": "begin", "op": operation, "pid": os.getpid(), "host": socket.gethostname(),
                         "time": time.time()})
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise SaveError(folder / JOURNAL, exc.strerror or str(exc)) from exc
        return cls(root, operation, folder, fd)

    def record(self, path: str | Path) -> None:
        """Note that ``path`` (inside the project) is about to be written or replaced."""
        if self.closed:
            raise RuntimeError("transaction already closed")
        path = Path(path).absolute()
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            raise ProjectError(f"{path} is outside the project {self.root}") from None
        if rel in self._seen:
            return
        try:
            missing: list[Path] = []
            parent = path.parent
            while parent != self.root and not parent.exists():
                missing.append(parent)
                parent = parent.parent
            for d in reversed(missing):
                self._log({"kind": "dir", "path": d.relative_to(self.root).as_posix()})
            if path.exists():
                backup = f"b{len(self._entries):06d}"
                try:
                    os.link(path, self.folder / backup)  # atomic writes replace the name: the link keeps the old bytes
                except OSError:
                    shutil.copy2(path, self.folder / backup)
                self._log({"kind": "file", "path": rel, "backup": backup})
            else:
                self._log({"kind": "file", "path": rel, "backup": None})
        except OSError as exc:
            raise SaveError(path, f"cannot record it for undo ({exc.strerror or exc})") from exc
        self._seen.add(rel)

    def _log(self, record: dict) -> None:
        _append(self._fd, record)
        self._entries.append(record)
        if record["kind"] == "dir":
            self._seen.add(record["path"])

    def discard(self) -> None:
        """Roll back instead of committing when the transaction's block ends."""
        self.discarded = True

    def _close_journal(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                os.close(self._fd)
            except OSError:
                pass

    def commit(self) -> None:
        """Keep every change (the journal is dropped)."""
        self._close_journal()
        _discard_folder(self.folder)

    def rollback(self) -> None:
        """Undo every recorded change."""
        self._close_journal()
        _undo(self.root, self.folder, self._entries)
        _discard_folder(self.folder)
