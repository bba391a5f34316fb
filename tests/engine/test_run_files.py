"""Run folders: a new run never takes over another run's folder; metrics.jsonl holds whole records only; a full disk
stops the metrics log, not the training; temp files of a killed process are cleaned up."""

from __future__ import annotations

import json
import os

import pytest

from segstudio.core.errors import SegstudioError
from segstudio.engine import run_files
from segstudio.engine.run_files import MetricsLog, check_run_dir, truncate_partial_line
from segstudio.engine.trainer import Trainer


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_metrics_record_is_one_whole_line_in_one_write(tiny_project, tiny_config, tmp_path, monkeypatch):
    writes = []
    real = os.write

    def spy(fd, data):
        writes.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(run_files.os, "write", spy)
    end = Trainer(tiny_project, tiny_config(out=tmp_path / "run")).run()
    monkeypatch.undo()
    assert end.status == "completed", end.message
    lines = (tmp_path / "run" / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    assert lines == writes and all(w.endswith(b"\n") and json.loads(w) for w in writes)
    assert {r["type"] for r in _records(tmp_path / "run" / "metrics.jsonl")} >= {"TrainStart", "StepEvent", "TrainEnd"}


def test_resume_cuts_a_half_written_record_before_appending(tiny_project, tiny_config, tmp_path):
    run = tmp_path / "run"
    assert Trainer(tiny_project, tiny_config(epochs=1, out=run)).run().status == "completed"
    metrics = run / "metrics.jsonl"
    whole = metrics.read_bytes()
    with open(metrics, "ab") as fh:
        fh.write(b'{"type": "StepEvent", "epoch": 0, "lo')  # a kill in the middle of a record (older versions)
    stale = run / ".last.pt.99999999.abcd1234.tmp"  # the temp file of a checkpoint write that was killed
    stale.write_bytes(b"half a checkpoint")
    end = Trainer(tiny_project, tiny_config(epochs=2, resume=run / "last.pt")).run()
    assert end.status == "completed", end.message
    data = metrics.read_bytes()
    assert data.startswith(whole) and len(data) > len(whole)
    assert all(json.loads(line) for line in data.splitlines())  # every line is a whole record
    assert not stale.exists()


def test_truncate_partial_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c"')
    assert truncate_partial_line(p) == 4 and p.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert truncate_partial_line(p) == 0
    p.write_bytes(b"no newline at all")
    assert truncate_partial_line(p) == 17 and p.read_bytes() == b""


def test_a_full_disk_stops_the_metrics_log_not_the_training(tiny_project, tiny_config, tmp_path, recorder):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    run = tmp_path / "run"
    assert Trainer(tiny_project, tiny_config(epochs=1, out=run)).run().status == "completed"
    (run / "metrics.jsonl").unlink()
    os.symlink("/dev/full", run / "metrics.jsonl")  # every write fails with ENOSPC, as on a full disk
    end = Trainer(tiny_project, tiny_config(epochs=2, resume=run / "last.pt"), [recorder]).run()
    assert end.status == "completed", end.message
    assert recorder.of("on_warning") == [f"cannot write {run / 'metrics.jsonl'}: No space left on device; "
                                         "metrics are no longer logged for this run"]
    assert (run / "last.pt").is_file()


def test_two_trainings_never_share_a_run_folder(tiny_project, tiny_config, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    check_run_dir(run, resume=False)  # an empty folder is fine for a new run
    first = MetricsLog.open(run / "metrics.jsonl", new_run=True)  # the first training claims it ...
    try:
        with pytest.raises(SegstudioError) as err:  # ... a second one started at the same moment cannot
            MetricsLog.open(run / "metrics.jsonl", new_run=True)
        assert str(err.value) == f"run folder {run} is already used by another training; give a new --out"
        with pytest.raises(SegstudioError) as err:  # nor can a resume while it trains
            MetricsLog.open(run / "metrics.jsonl", new_run=False)
        assert str(err.value) == (f"run folder {run} is in use by another training process; wait for it to "
                                  "finish or give a new --out")
    finally:
        first.close()
    end = Trainer(tiny_project, tiny_config(out=run)).run()  # a folder that holds a run is refused too
    assert end.status == "failed" and end.user_error
    assert end.message == (f"run folder {run} already exists and is not empty; give a new --out, or continue that "
                           f"run with --resume {run / 'last.pt'}")
    assert (run / "metrics.jsonl").read_bytes() == b""  # nothing of the refused run was written there
