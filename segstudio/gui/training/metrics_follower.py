"""Follow a growing ``metrics.jsonl`` (a run written by another process, e.g. torchrun).

The file is read by :mod:`segstudio.core.run_records` (typed records, a half-written last line waits);
:class:`MetricsFollower` polls it on a QTimer and emits ``recordsAppended(list of records)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from segstudio.core.run_records import (CheckpointRecord, EpochRecord, JsonlTail, Record, StartRecord,
                                        StepRecord)


def records_to_events(records: list[Record]) -> list[tuple[str, object]]:
    """Group records as the in-process relay groups events: ("steps", (points, last StepRecord)),
    ("epoch", EpochRecord), ("start", StartRecord), ("checkpoint", CheckpointRecord)."""
    out: list[tuple[str, object]] = []
    points: list[tuple[int, float]] = []
    last = None

    def flush() -> None:
        nonlocal points, last
        if points or last is not None:
            out.append(("steps", (points, last)))
        points, last = [], None

    for rec in records:
        if isinstance(rec, StepRecord):
            last = rec
            points.append((rec.global_step, rec.loss))
        elif isinstance(rec, EpochRecord):
            flush()
            out.append(("epoch", rec))
        elif isinstance(rec, CheckpointRecord):
            flush()
            out.append(("checkpoint", rec))
        elif isinstance(rec, StartRecord):
            flush()
            out.append(("start", rec))
    flush()
    return out


class MetricsFollower(QObject):
    """Polls a metrics.jsonl file every ``interval_ms`` and emits the new typed records."""

    recordsAppended = Signal(object)  # list of records

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

    def poll(self) -> list[Record]:
        records = self.tail.read_records()
        if records:
            self.recordsAppended.emit(records)
        return records
