"""Follow a growing ``metrics.jsonl`` (a run written by another process, e.g. torchrun).

:class:`JsonlTail` (no Qt) reads only what was appended since the last call and returns the complete
lines parsed as JSON objects (a half-written last line waits for the next call; garbage lines are
skipped). :class:`MetricsFollower` polls it on a QTimer and emits ``recordsAppended(list[dict])``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QObject, QTimer, Signal

MAX_LINE_BYTES = 1 << 20


class JsonlTail:
    """Incremental reader of a JSON-lines file that may not exist yet, grow, or be replaced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self.skipped = 0

    def read_new(self) -> list[dict]:
        """Parsed objects from the lines completed since the previous call."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if self._inode is not None and (st.st_ino != self._inode or st.st_size < self._offset):
            self._offset, self._partial = 0, b""  # replaced or truncated: start over
        self._inode = st.st_ino
        if st.st_size == self._offset:
            return []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(st.st_size - self._offset)
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # incomplete (or empty) last piece
        if len(self._partial) > MAX_LINE_BYTES:
            self._partial = b""
            self.skipped += 1
        out: list[dict] = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                self.skipped += 1
                continue
            if isinstance(obj, dict):
                out.append(obj)
            else:
                self.skipped += 1
        return out


#: the engine logs event class names as "type"
_TYPE_ALIASES = {"StepEvent": "step", "EpochEnd": "epoch", "TrainStart": "start", "TrainEnd": "end",
                 "CheckpointSaved": "checkpoint", "BatchSizeReduced": "batch_size", "PreviewEvent": "preview"}


def record_type(rec: dict) -> str:
    """'step', 'epoch', 'start', 'end', 'checkpoint', 'warning', ... (the record's "type", normalised;
    guessed from its keys when missing)."""
    kind = rec.get("type") or rec.get("event")
    if kind:
        return _TYPE_ALIASES.get(str(kind), str(kind))
    if "global_step" in rec and "loss" in rec:
        return "step"
    if "miou" in rec or "val_loss" in rec:
        return "epoch"
    return "unknown"


def step_from_record(rec: dict) -> SimpleNamespace:
    """A StepEvent look-alike from a metrics.jsonl step record (missing numbers default to 0)."""
    return SimpleNamespace(
        epoch=int(rec.get("epoch", 0)), step=int(rec.get("step", 0)),
        global_step=int(rec.get("global_step", rec.get("step", 0))),
        total_steps=int(rec.get("total_steps", 0) or 0), loss=float(rec.get("loss", float("nan"))),
        lr=float(rec.get("lr", 0.0) or 0.0), images_per_s=float(rec.get("images_per_s", 0.0) or 0.0),
    )


def epoch_from_record(rec: dict) -> SimpleNamespace:
    """An EpochEnd look-alike from a metrics.jsonl epoch record."""
    return SimpleNamespace(
        epoch=int(rec.get("epoch", 0)), epochs=int(rec.get("epochs", 0) or 0),
        train_loss=rec.get("train_loss"), val_loss=rec.get("val_loss"), miou=rec.get("miou"),
        per_class_iou=rec.get("per_class_iou") or [], dice=rec.get("dice"), pixel_acc=rec.get("pixel_acc"),
        seconds=float(rec.get("seconds", 0.0) or 0.0),
    )


def records_to_events(records: list[dict]) -> list[tuple[str, object]]:
    """Group metrics records like the in-process relay does: ("steps", (points, last step)),
    ("epoch", EpochEnd look-alike), ("start", namespace with epochs and steps_per_epoch),
    ("checkpoint", namespace with path, kind, epoch, miou)."""
    out: list[tuple[str, object]] = []
    points: list[tuple[int, float]] = []
    last = None

    def flush() -> None:
        nonlocal points, last
        if points or last is not None:
            out.append(("steps", (points, last)))
        points, last = [], None

    for rec in records:
        kind = record_type(rec)
        if kind == "step":
            last = step_from_record(rec)
            points.append((last.global_step, last.loss))
        elif kind == "epoch":
            flush()
            out.append(("epoch", epoch_from_record(rec)))
        elif kind == "checkpoint" and isinstance(rec.get("path"), str):
            flush()
            out.append(("checkpoint", SimpleNamespace(path=Path(rec["path"]), kind=str(rec.get("kind", "")),
                                                      epoch=int(rec.get("epoch", 0) or 0), miou=rec.get("miou"))))
        elif kind == "start":
            flush()
            out.append(("start", SimpleNamespace(epochs=int(rec.get("epochs", 0) or 0),
                                                 steps_per_epoch=int(rec.get("steps_per_epoch", 0) or 0),
                                                 model=rec.get("model"))))
    flush()
    return out


class MetricsFollower(QObject):
    """Polls a metrics.jsonl file every ``interval_ms`` and emits the new records."""

    recordsAppended = Signal(object)  # list[dict]

    def __init__(self, path: str | Path, interval_ms: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tail = JsonlTail(path)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def path(self) -> Path:
        return self.tail.path

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """Stop polling after one last read (so the final lines are not lost)."""
        self._timer.stop()
        self.poll()

    def poll(self) -> list[dict]:
        records = self.tail.read_new()
        if records:
            self.recordsAppended.emit(records)
        return records
