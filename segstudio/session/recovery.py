"""Crash-recovery journal: dirty masks copied every few seconds, removed once really saved.

Layout: ``<user_data_dir>/recovery/<project-hash>/index.json`` ({"project": root, "entries":
{image_id: {"file": name, "revision": n, "time": t}}}) and one P-mode PNG per entry. Every file is
written atomically on a single background thread, in order, so the GUI never waits on the disk.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from segstudio.core.atomic import atomic_write_json
from segstudio.core.paths import user_data_dir

if TYPE_CHECKING:
    import numpy as np

INTERVAL_MS = 2500


def project_key(root: str | Path) -> str:
    """Stable short hash of a project folder's absolute path."""
    import hashlib  # here, not at import: keeps the window's startup short

    return hashlib.sha1(str(Path(root).resolve()).encode("utf-8")).hexdigest()[:16]


def journal_dir(root: str | Path) -> Path:
    return user_data_dir() / "recovery" / project_key(root)


class RecoveryJournal:
    """The journal of one project."""

    def __init__(self, project_root: str | Path) -> None:
        self.root = Path(project_root).resolve()
        self.dir = journal_dir(self.root)
        self._entries: dict[str, dict] = self._read_index().get("entries", {})
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segstudio-recovery")
        self._last: Future | None = None
        self.last_error: str | None = None

    # ---------------------------------------------------------------- reading
    def _read_index(self) -> dict:
        path = self.dir / "index.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            return {}
        return data

    def pending(self) -> list[str]:
        """Image ids with recovered edits on disk."""
        return sorted(i for i, e in self._read_index().get("entries", {}).items()
                      if (self.dir / str(e.get("file", ""))).is_file())

    def load(self, image_id: str) -> np.ndarray | None:
        entry = self._read_index().get("entries", {}).get(image_id)
        if not entry:
            return None
        path = self.dir / Path(str(entry.get("file", ""))).name
        try:
            from segstudio.core.mask_io import read_mask

            return read_mask(path)
        except Exception:  # noqa: BLE001 - a damaged journal entry is skipped
            return None

    def journaled_revision(self, image_id: str) -> int | None:
        entry = self._entries.get(image_id)
        return None if entry is None else entry.get("revision")

    # ---------------------------------------------------------------- writing (background thread)
    def write(self, image_id: str, mask: np.ndarray, colors: list[tuple[int, int, int]], revision: int) -> Future:
        """Journal a copy of ``mask`` (the caller passes a copy it no longer touches)."""
        import hashlib

        name = hashlib.sha1(image_id.encode("utf-8")).hexdigest()[:20] + ".png"
        self._entries[image_id] = {"file": name, "revision": revision, "time": time.time()}
        snapshot = {"project": str(self.root), "entries": dict(self._entries)}
        return self._submit(self._write_files, name, mask, list(colors), snapshot)

    def remove(self, image_id: str) -> Future | None:
        """Forget an entry after the real mask was saved."""
        entry = self._entries.pop(image_id, None)
        if entry is None:
            return None
        snapshot = {"project": str(self.root), "entries": dict(self._entries)}
        return self._submit(self._remove_file, str(entry.get("file", "")), snapshot)

    def discard(self) -> Future:
        """Delete the whole journal of this project."""
        self._entries.clear()
        import shutil

        return self._submit(shutil.rmtree, self.dir, True)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for queued writes."""
        if self._last is not None:
            try:
                self._last.result(timeout)
            except Exception:  # noqa: BLE001 - recorded in last_error
                pass

    def close(self) -> None:
        self.flush()
        self._executor.shutdown(wait=True)

    def _submit(self, fn, *args) -> Future:
        def job():
            try:
                fn(*args)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - the journal is best effort
                self.last_error = str(exc)
        try:
            self._last = self._executor.submit(job)
        except RuntimeError:  # closed: run inline (rare: an edit saved while the window closes)
            job()
            fut: Future = Future()
            fut.set_result(None)
            self._last = fut
        return self._last

    def _write_files(self, name: str, mask: np.ndarray, colors, snapshot: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        from segstudio.core.mask_io import write_mask

        write_mask(self.dir / name, mask, colors)
        atomic_write_json(self.dir / "index.json", snapshot)

    def _remove_file(self, name: str, snapshot: dict) -> None:
        if not self.dir.is_dir():
            return
        if snapshot["entries"]:
            atomic_write_json(self.dir / "index.json", snapshot)
        if name:
            (self.dir / Path(name).name).unlink(missing_ok=True)
        if not snapshot["entries"]:
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
