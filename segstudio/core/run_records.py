"""Training-run records, typed: what a run folder's ``config.json`` and ``metrics.jsonl`` hold.

The trainer appends one JSON object per event to ``metrics.jsonl`` (``{"type": <event class name>,
<its fields>}``: TrainStart, StepEvent, EpochEnd, CheckpointSaved, BatchSizeReduced, TrainEnd, and
``warning``). This module is the one reader of those files for the GUI and tools (no torch, no Qt):
:func:`parse_record` turns a line's object into a typed record (None for unknown or malformed ones),
:class:`JsonlTail` reads what a growing file appended since the last call (skipping a half-written last
line), and :func:`read_run` summarises a run folder.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 1 << 20


def _num(value: Any, default: float | None = None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return int(value)


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


@dataclass
class StartRecord:
    """A run started (TrainStart)."""

    TYPE = "TrainStart"
    model: str = "?"
    device: str = ""
    precision: str = ""
    epochs: int = 0
    steps_per_epoch: int = 0
    batch_size: int = 0
    num_train: int = 0
    num_val: int = 0
    class_names: list[str] = field(default_factory=list)
    pretrained: str | None = None
    start_epoch: int = 0
    run_dir: str = ""
    init_source: dict | None = None  # where the initial weights came from (--init), see engine.init_from

    @classmethod
    def parse(cls, d: dict) -> "StartRecord":
        names = d.get("class_names")
        return cls(_str(d.get("model"), "?"), _str(d.get("device")), _str(d.get("precision")), _int(d.get("epochs")),
                   _int(d.get("steps_per_epoch")), _int(d.get("batch_size")), _int(d.get("num_train")),
                   _int(d.get("num_val")), [str(n) for n in names] if isinstance(names, list) else [],
                   d.get("pretrained") if isinstance(d.get("pretrained"), str) else None,
                   _int(d.get("start_epoch")), _str(d.get("run_dir")),
                   d.get("init_source") if isinstance(d.get("init_source"), dict) else None)


@dataclass
class StepRecord:
    """One optimisation step (StepEvent)."""

    TYPE = "StepEvent"
    epoch: int = 0
    step: int = 0
    global_step: int = 0
    total_steps: int = 0
    loss: float = float("nan")
    lr: float = 0.0
    images_per_s: float = 0.0

    @classmethod
    def parse(cls, d: dict) -> "StepRecord":
        return cls(_int(d.get("epoch")), _int(d.get("step")), _int(d.get("global_step"), _int(d.get("step"))),
                   _int(d.get("total_steps")), _num(d.get("loss"), float("nan")), _num(d.get("lr"), 0.0),
                   _num(d.get("images_per_s"), 0.0))


@dataclass
class EpochRecord:
    """An epoch ended with its validation metrics (EpochEnd)."""

    TYPE = "EpochEnd"
    epoch: int = 0
    epochs: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    miou: float | None = None
    per_class_iou: list[float | None] = field(default_factory=list)
    dice: float | None = None
    pixel_acc: float | None = None
    seconds: float = 0.0

    @classmethod
    def parse(cls, d: dict) -> "EpochRecord":
        per = d.get("per_class_iou")
        return cls(_int(d.get("epoch")), _int(d.get("epochs")), _num(d.get("train_loss")), _num(d.get("val_loss")),
                   _num(d.get("miou")), [_num(v) for v in per] if isinstance(per, list) else [],
                   _num(d.get("dice")), _num(d.get("pixel_acc")), _num(d.get("seconds"), 0.0) or 0.0)


@dataclass
class CheckpointRecord:
    """A checkpoint was written (CheckpointSaved)."""

    TYPE = "CheckpointSaved"
    path: Path = Path()
    kind: str = ""
    epoch: int = 0
    miou: float | None = None

    @classmethod
    def parse(cls, d: dict) -> "CheckpointRecord | None":
        if not isinstance(d.get("path"), str):
            return None
        return cls(Path(d["path"]), _str(d.get("kind")), _int(d.get("epoch")), _num(d.get("miou")))


@dataclass
class BatchSizeRecord:
    """Out of memory: the batch size was reduced (BatchSizeReduced)."""

    TYPE = "BatchSizeReduced"
    old: int = 0
    new: int = 0
    reason: str = ""

    @classmethod
    def parse(cls, d: dict) -> "BatchSizeRecord":
        return cls(_int(d.get("old")), _int(d.get("new")), _str(d.get("reason")))


@dataclass
class WarningRecord:
    """A warning of the trainer (skipped image, ...)."""

    TYPE = "warning"
    message: str = ""

    @classmethod
    def parse(cls, d: dict) -> "WarningRecord":
        return cls(_str(d.get("message")))


@dataclass
class EndRecord:
    """The run ended (TrainEnd): completed, cancelled or failed."""

    TYPE = "TrainEnd"
    status: str = ""
    message: str = ""
    best_miou: float | None = None
    traceback: str | None = None
    run_dir: str = ""

    @classmethod
    def parse(cls, d: dict) -> "EndRecord":
        tb = d.get("traceback")
        return cls(_str(d.get("status")), _str(d.get("message")), _num(d.get("best_miou")),
                   tb if isinstance(tb, str) else None, _str(d.get("run_dir")))


Record = Union[StartRecord, StepRecord, EpochRecord, CheckpointRecord, BatchSizeRecord, WarningRecord, EndRecord]
RECORD_CLASSES: tuple[type, ...] = (StartRecord, StepRecord, EpochRecord, CheckpointRecord, BatchSizeRecord,
                                    WarningRecord, EndRecord)
_BY_TYPE = {cls.TYPE: cls for cls in RECORD_CLASSES}


def record_fields(cls: type) -> set[str]:
    """The field names of a record class (a test checks they match the engine's events)."""
    return {f.name for f in fields(cls)}


def parse_record(obj: Any) -> Record | None:
    """The typed record of one metrics.jsonl object; None for unknown types or malformed records."""
    if not isinstance(obj, dict):
        return None
    cls = _BY_TYPE.get(obj.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return None
    try:
        return cls.parse(obj)
    except (TypeError, ValueError):
        return None


class JsonlTail:
    """Incremental reader of a JSON-lines file that may not exist yet, grow, or be replaced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self.skipped = 0

    def read_new(self) -> list[dict]:
        """Parsed objects from the lines completed since the previous call (a half-written last line waits)."""
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
        lines = (self._partial + data).split(b"\n")
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
            except (ValueError, UnicodeDecodeError, RecursionError):
                self.skipped += 1
                continue
            if isinstance(obj, dict):
                out.append(obj)
            else:
                self.skipped += 1
        return out

    def read_records(self) -> list[Record]:
        """:meth:`read_new`, typed (unknown records dropped)."""
        return [r for r in (parse_record(obj) for obj in self.read_new()) if r is not None]


@dataclass
class RunInfo:
    """What a run folder says about its run."""

    path: Path
    name: str
    model: str = "?"
    epochs_planned: int | None = None
    epochs_done: int = 0
    best_miou: float | None = None
    last_miou: float | None = None
    status: str = ""
    modified: float = 0.0
    init_from: str | None = None  # the checkpoint (--init) or pretrained weights the run started from
    init_sha256: str | None = None  # the checksum of that checkpoint
    checkpoints: dict[str, Path] = field(default_factory=dict)  # "best"/"last" -> path

    @property
    def preferred_checkpoint(self) -> Path | None:
        return self.checkpoints.get("best") or self.checkpoints.get("last")


def read_run_config(run_dir: str | Path) -> dict:
    """The run's config.json ({"config": TrainConfig JSON, ...}); {} when missing, damaged or too large."""
    path = Path(run_dir) / "config.json"
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            return {}
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def read_run(run_dir: str | Path) -> RunInfo:
    """Summarise one run folder; missing or damaged files leave fields at their defaults."""
    run_dir = Path(run_dir)
    info = RunInfo(path=run_dir, name=run_dir.name)
    try:
        info.modified = run_dir.stat().st_mtime
    except OSError:
        pass
    meta = read_run_config(run_dir)
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    info.model = _str(cfg.get("model"), "?")
    if isinstance(cfg.get("epochs"), int):
        info.epochs_planned = cfg["epochs"]
    init = meta.get("init_source")  # {"path", "sha256", "model", "head", ...} of a run started with --init
    if isinstance(init, dict) and isinstance(init.get("path"), str):
        info.init_from = init["path"]
        info.init_sha256 = init["sha256"] if isinstance(init.get("sha256"), str) else None
    elif isinstance(cfg.get("init"), str):
        info.init_from = cfg["init"]
    if info.init_from is None and isinstance(meta.get("pretrained"), str):
        info.init_from = meta["pretrained"]  # pretrained backbone weights
    for rec in JsonlTail(run_dir / "metrics.jsonl").read_records():
        if isinstance(rec, EpochRecord):
            info.epochs_done = max(info.epochs_done, rec.epoch + 1)
            if rec.miou is not None:
                info.last_miou = rec.miou
                info.best_miou = rec.miou if info.best_miou is None else max(info.best_miou, rec.miou)
        elif isinstance(rec, EndRecord):
            info.status = rec.status
        elif isinstance(rec, StartRecord) and info.model == "?":
            info.model = rec.model
    for kind in ("best", "last"):
        p = run_dir / f"{kind}.pt"
        if p.is_file():
            info.checkpoints[kind] = p
    return info


def scan_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every run folder under ``runs_dir`` (newest first)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [read_run(p) for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs.sort(key=lambda r: (r.modified, r.name), reverse=True)
    return runs
