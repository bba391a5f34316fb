"""Run records read through one typed, torch-free module: what the engine writes is what the GUI reads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from segstudio.core.run_records import (RECORD_CLASSES, CheckpointRecord, EndRecord, EpochRecord, JsonlTail,
                                        StepRecord, parse_record, read_run, record_fields, scan_runs)


def test_record_fields_are_the_engine_event_fields():
    """One schema: every record field is a field of the engine event of the same name."""
    from segstudio.engine import events

    for cls in RECORD_CLASSES:
        if cls.TYPE == "warning":
            continue
        event = getattr(events, cls.TYPE)
        assert record_fields(cls) <= {f.name for f in dataclasses.fields(event)}, cls.TYPE


def test_parse_record_types_values_and_drops_garbage():
    step = parse_record({"type": "StepEvent", "epoch": 1, "step": 2, "global_step": 9, "loss": 0.25, "lr": 1e-3})
    assert step == StepRecord(1, 2, 9, 0, 0.25, 1e-3, 0.0)
    epoch = parse_record({"type": "EpochEnd", "epoch": 0, "miou": "high", "val_loss": float("nan"),
                          "per_class_iou": [0.5, None, "x"]})
    assert isinstance(epoch, EpochRecord) and epoch.miou is None and epoch.val_loss is None
    assert epoch.per_class_iou == [0.5, None, None]
    assert parse_record({"type": "CheckpointSaved", "path": 3}) is None  # no path: not a checkpoint record
    assert parse_record({"type": "Unknown"}) is None and parse_record([1, 2]) is None
    assert isinstance(parse_record({"type": "TrainEnd", "status": "completed"}), EndRecord)


def test_jsonl_tail_reads_only_complete_new_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read_new() == []  # missing file
    path.write_bytes(b'{"type": "StepEvent", "global_step": 0, "loss": 1.0}\n{"type": "St')
    assert [r.global_step for r in tail.read_records()] == [0]
    with open(path, "ab") as fh:
        fh.write(b'epEvent", "global_step": 1, "loss": 0.5}\nnot json\n[1, 2]\n{"type": "EpochEnd", "miou": 0.5}\n')
    recs = tail.read_records()
    assert [type(r) for r in recs] == [StepRecord, EpochRecord] and recs[0].loss == 0.5
    assert tail.skipped == 2
    path.write_bytes(b'{"type": "StepEvent", "global_step": 7, "loss": 2.0}\n')  # replaced: start over
    assert [r.global_step for r in tail.read_records()] == [7]


def _run(runs: Path, name: str, mious: list[float], model: str = "unet", checkpoints=("best", "last"),
         init: str | None = None) -> Path:
    d = runs / name
    d.mkdir(parents=True)
    meta = {"config": {"model": model, "epochs": 5, "init": init},
            "init_source": {"path": init, "sha256": "ab" * 32} if init else None}
    (d / "config.json").write_text(json.dumps(meta))
    lines = [json.dumps({"type": "StepEvent", "global_step": i, "loss": 1.0}) for i in range(3)]
    lines += [json.dumps({"type": "EpochEnd", "epoch": i, "miou": m, "val_loss": 0.5}) for i, m in enumerate(mious)]
    lines.append(json.dumps({"type": "TrainEnd", "status": "completed", "message": "ok"}))
    (d / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    for kind in checkpoints:
        (d / f"{kind}.pt").write_bytes(b"x")
    return d


def test_read_run_and_scan_runs(tmp_path):
    runs = tmp_path / "runs"
    a = _run(runs, "run-a", [0.2, 0.6, 0.5], init="/models/earlier/best.pt")
    b = _run(runs, "run-b", [], model="segnet", checkpoints=("last",))
    (runs / "broken").mkdir()
    (runs / "broken" / "config.json").write_text("{not json")
    info = read_run(a)
    assert info.model == "unet" and info.best_miou == pytest.approx(0.6) and info.last_miou == pytest.approx(0.5)
    assert info.epochs_done == 3 and info.epochs_planned == 5 and info.preferred_checkpoint == a / "best.pt"
    assert info.status == "completed" and info.init_from == "/models/earlier/best.pt"
    assert info.init_sha256 == "ab" * 32
    assert read_run(b).preferred_checkpoint == b / "last.pt" and read_run(b).best_miou is None
    assert read_run(b).init_from is None
    assert {r.name for r in scan_runs(runs)} == {"run-a", "run-b", "broken"}
    assert scan_runs(tmp_path / "nothing") == []


def test_a_real_training_run_reads_back_typed(tmp_path):
    """The trainer's own metrics.jsonl through the typed reader."""
    from segstudio.core.demo import generate_demo_project
    from segstudio.engine.config import TrainConfig
    from segstudio.engine.trainer import Trainer

    root = generate_demo_project(tmp_path / "p", n_images=4, labeled=3, size=(48, 48))
    end = Trainer(root, TrainConfig(model="unet", model_args={"width": 4, "depth": 2}, crop=32, batch_size=2,
                                    epochs=2, steps_per_epoch=2, device="cpu", pretrained=False)).run()
    assert end.status == "completed"
    records = JsonlTail(end.run_dir / "metrics.jsonl").read_records()
    kinds = [type(r).__name__ for r in records]
    assert kinds[0] == "StartRecord" and kinds[-1] == "EndRecord" and kinds.count("EpochRecord") == 2
    assert any(isinstance(r, CheckpointRecord) and r.path.name == "best.pt" for r in records)
    info = read_run(end.run_dir)
    assert info.epochs_done == 2 and info.status == "completed" and info.model == "unet"
