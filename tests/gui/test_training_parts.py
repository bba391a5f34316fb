"""Training panel parts that need no engine: smoothing, throttled relay, curves, metrics follower,
runs list, settings form, torchrun subprocess start/stop (with a fake training script)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from segstudio.core.run_records import EpochRecord, StepRecord, parse_record, read_run
from segstudio.engine.config import LIVE_EPOCHS
from segstudio.gui.jobs import JobRunner
from segstudio.gui.training.loss_plot import LossPlot, ema_smooth
from segstudio.gui.training.metrics_follower import MetricsFollower, records_to_events
from segstudio.gui.training.multi_gpu import MultiGpuRun, torchrun_command
from segstudio.gui.training.relay import EventBuffer, TrainingEvents, emit_drained
from segstudio.gui.training.runs_list import RunsList
from segstudio.gui.training.settings_form import TrainSettingsForm


@pytest.fixture
def runner(qapp):
    r = JobRunner()
    yield r
    r.shutdown(10)


def _step(i: int, loss: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(epoch=0, step=i, global_step=i, total_steps=1000, loss=loss, lr=1e-3, images_per_s=10.0)


# ---------------------------------------------------------------------------- smoothing and curves
def test_ema_smooth_is_bias_corrected_and_reduces_noise():
    assert np.allclose(ema_smooth(np.full(50, 2.5)), 2.5)
    rng = np.random.default_rng(0)
    noisy = 1.0 + rng.normal(0, 0.5, 2000)
    smooth = ema_smooth(noisy, 0.9)
    assert smooth[0] == pytest.approx(noisy[0])
    assert smooth[200:].std() < noisy[200:].std() / 3


def test_loss_plot_accumulates_points_and_skips_nan(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_steps([(0, 1.0), (1, float("nan")), (2, 0.5)])  # kept before the widget exists
    assert plot.graphics is None and plot.redraws == 0
    plot.show()  # builds the pyqtgraph widget and draws what is there
    assert plot.graphics is not None and len(plot.raw_curve.getData()[0]) == 2
    start = plot.redraws
    plot.add_steps([(3, 0.25)])
    xs, ys = plot.step_points()
    assert list(xs) == [0, 2, 3] and list(ys) == [1.0, 0.5, 0.25]
    sx, sy = plot.smoothed_points()
    assert len(sx) == 3 and sy[0] == pytest.approx(1.0) and 0.25 < sy[-1] < 1.0
    plot.add_epoch(1, 0.9, 0.8, 0.4)
    plot.add_epoch(2, 0.7, None, 0.6)
    assert plot.epoch_points() == [(1.0, 0.9, 0.8, 0.4), (2.0, 0.7, None, 0.6)]
    assert len(plot.miou_curve.getData()[0]) == 2 and len(plot.val_curve.getData()[0]) == 1
    assert plot.redraws - start == 3
    plot.dispose()
    assert plot.graphics is None
    plot.rebuild()
    assert len(plot.miou_curve.getData()[0]) == 2  # rebuilt from the kept data
    plot.clear()
    assert len(plot.step_points()[0]) == 0


# ---------------------------------------------------------------------------- relay
def test_event_buffer_coalesces_steps_and_keeps_rare_events_in_order(qtbot):
    buf = EventBuffer()
    target = TrainingEvents()
    got = {"steps": [], "epochs": [], "previews": [], "order": []}
    target.started.connect(lambda ev: got["order"].append("start"))
    target.steps.connect(lambda pts, last: got["steps"].append((list(pts), last)))
    target.epochEnded.connect(lambda ev: (got["epochs"].append(ev), got["order"].append("epoch")))
    target.preview.connect(lambda ev: got["previews"].append(ev))
    target.ended.connect(lambda ev: got["order"].append("end"))
    source = np.zeros((4, 4), np.uint8)
    buf.on_train_start(SimpleNamespace())
    for i in range(500):
        buf.on_step(_step(i, 1.0 / (i + 1)))
    buf.on_epoch_end(SimpleNamespace(epoch=0))
    buf.on_preview(SimpleNamespace(image_id="a", mask=source, confidence=np.ones((4, 4), np.float32), epoch=0))
    buf.on_preview(SimpleNamespace(image_id="b", mask=source, confidence=np.ones((4, 4), np.float32), epoch=0))
    buf.on_end(SimpleNamespace(status="completed"))
    emit_drained(target, buf.drain())
    assert len(got["steps"]) == 1
    points, last = got["steps"][0]
    assert len(points) == 500 and points[-1] == (499, pytest.approx(1 / 500)) and last.global_step == 499
    assert [p.image_id for p in got["previews"]] == ["b"]
    assert got["previews"][0].mask is not source  # a copy, not the engine's array
    assert got["order"] == ["start", "epoch", "end"]
    emit_drained(target, buf.drain())
    assert len(got["steps"]) == 1  # nothing new, nothing emitted


def test_training_events_are_throttled_however_fast_the_trainer_steps(qtbot, runner):
    """A producer thread stepping as fast as it can reaches the GUI about once per 60 ms."""
    buf = EventBuffer()
    target = TrainingEvents()
    emitted = []
    target.steps.connect(lambda pts, last: emitted.append(len(pts)))

    def produce(job):
        buf.notify = job.report
        t_end = time.monotonic() + 0.6
        i = 0
        while time.monotonic() < t_end:
            buf.on_step(_step(i))
            i += 1
            if i % 50 == 0:
                time.sleep(0.001)
        return i

    done = []
    runner.submit("train", produce, lane="train", progress_interval_ms=60, on_done=done.append,
                  on_progress=lambda _p: emit_drained(target, buf.drain()))
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    emit_drained(target, buf.drain())
    assert 2 <= len(emitted) <= 600 / 60 + 3  # about one signal per interval
    assert sum(emitted) == done[0] and sum(emitted) > len(emitted) * 5  # every step arrives, many per signal


# ---------------------------------------------------------------------------- metrics.jsonl follower
def test_engine_records_become_step_batches_and_epochs():
    recs = [parse_record(r) for r in (
        {"type": "TrainStart", "epochs": 3, "steps_per_epoch": 2, "model": "unet"},
        {"type": "StepEvent", "epoch": 0, "step": 0, "global_step": 0, "total_steps": 6, "loss": 1.0},
        {"type": "StepEvent", "epoch": 0, "step": 1, "global_step": 1, "total_steps": 6, "loss": 0.8},
        {"type": "EpochEnd", "epoch": 0, "epochs": 3, "train_loss": 0.9, "val_loss": 0.7, "miou": 0.4},
        {"type": "CheckpointSaved", "path": "x/last.pt", "kind": "last", "epoch": 1},
        {"type": "StepEvent", "epoch": 1, "step": 0, "global_step": 2, "total_steps": 6, "loss": 0.6})]
    events = records_to_events(recs)
    assert [k for k, _ in events] == ["start", "steps", "epoch", "checkpoint", "steps"]
    assert events[0][1].epochs == 3 and events[0][1].steps_per_epoch == 2
    points, last = events[1][1]
    assert points == [(0, 1.0), (1, 0.8)] and last.global_step == 1 and last.total_steps == 6
    assert events[2][1].miou == 0.4 and events[2][1].val_loss == 0.7
    assert events[3][1].path == Path("x/last.pt") and events[3][1].kind == "last"
    assert events[4][1][0] == [(2, 0.6)]


def test_metrics_follower_emits_appended_records(qtbot, tmp_path):
    path = tmp_path / "metrics.jsonl"
    follower = MetricsFollower(path, interval_ms=30)
    follower.start()
    with qtbot.waitSignal(follower.recordsAppended, timeout=3000) as blocker:
        path.write_text(json.dumps({"type": "StepEvent", "global_step": 3, "loss": 0.7}) + "\n")
    assert isinstance(blocker.args[0][0], StepRecord) and blocker.args[0][0].global_step == 3
    follower.stop()


# ---------------------------------------------------------------------------- runs list
def _fake_run(runs: Path, name: str, mious: list[float], model: str = "unet", checkpoints=("best", "last")) -> Path:
    d = runs / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": {"model": model, "epochs": 5}}))
    lines = [json.dumps({"type": "StepEvent", "global_step": i, "loss": 1.0}) for i in range(3)]
    lines += [json.dumps({"type": "EpochEnd", "epoch": i, "miou": m, "val_loss": 0.5}) for i, m in enumerate(mious)]
    (d / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    for kind in checkpoints:
        (d / f"{kind}.pt").write_bytes(b"x")
    return d


def test_runs_list_widget_chooses_a_checkpoint(qtbot, tmp_path):
    runs = tmp_path / "runs"
    a = _fake_run(runs, "run-a", [0.3, 0.7])
    widget = RunsList()
    qtbot.addWidget(widget)
    widget.set_runs_dir(runs)
    assert widget.tree.topLevelItemCount() == 1
    item = widget.tree.topLevelItem(0)
    assert item.text(0) == "run-a" and item.text(3) == "0.700"
    assert not widget.use_best_button.isEnabled()
    assert widget.select_run(a)
    assert widget.use_best_button.isEnabled()
    with qtbot.waitSignal(widget.checkpointChosen, timeout=1000) as blocker:
        widget.use_last_button.click()
    assert blocker.args[0] == a / "last.pt"
    assert "run-a/last.pt" in widget.active_label.text()


# ---------------------------------------------------------------------------- settings form
def test_settings_form_config_and_gpu_options(qtbot, runner):
    form = TrainSettingsForm(runner)
    qtbot.addWidget(form)
    form.show()
    cfg = form.config()
    assert cfg["model"] == "unet" and cfg["device"] == "auto" and not cfg["watch_project"]
    from segstudio.engine.config import TrainConfig

    defaults = TrainConfig()  # one click on Train uses the engine's defaults (tuned for the demo on a CPU)
    for key in ("model", "epochs", "batch_size", "lr", "crop", "loss", "optimizer", "precision"):
        assert cfg[key] == getattr(defaults, key), key
    form.set_available([("cpu", "CPU"), ("cuda:0", "GPU A (80.0 GB)")], ["unet", "segnet"])
    assert form.device_combo.count() == 3 and "GPU A (80.0 GB)" in form.device_combo.itemText(2)
    assert not form.multi_gpu_check.isVisible() and form.multi_gpu_count() == 0
    form.device_combo.setCurrentIndex(2)
    assert form.config()["device"] == "cuda:0"
    form.set_available([("cpu", "CPU"), ("cuda:0", "A"), ("cuda:1", "B")], ["unet"])
    assert form.config()["device"] == "cuda:0"  # choice kept
    assert form.multi_gpu_check.isVisible()
    form.multi_gpu_check.setChecked(True)
    assert form.multi_gpu_count() == 2
    form.live_check.setChecked(True)
    live = form.config()
    assert live["watch_project"] and live["epochs"] == LIVE_EPOCHS and not form.epochs_spin.isEnabled()
    assert live["patience"] == 0 and live["val_every"] == 1  # live training never stops early
    form.extra_config = {"steps_per_epoch": 2}
    assert form.config()["steps_per_epoch"] == 2


def test_gui_worker_threads_follow_the_engine_rule(monkeypatch):
    from segstudio.engine.threads import THREADS_ENV, torch_threads
    from segstudio.gui.training.worker import worker_torch_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert worker_torch_threads() == torch_threads(gui=True) == max(1, torch_threads() - 1)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert worker_torch_threads() == 3


def test_settings_form_remembers_the_last_settings(qtbot, tmp_path, runner):
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings().remove("training")
    form = TrainSettingsForm(runner)
    qtbot.addWidget(form)
    form.epochs_spin.setValue(7)
    form.crop_spin.setValue(96)
    form.loss_combo.setCurrentIndex(form.loss_combo.findData("dice"))
    form.extra_config = {"steps_per_epoch": 3}
    form.save_settings()
    again = TrainSettingsForm(runner)
    qtbot.addWidget(again)
    again.restore_settings()
    cfg = again.config()
    assert cfg["epochs"] == 7 and cfg["crop"] == 96 and cfg["loss"] == "dice" and "steps_per_epoch" not in cfg


def test_torchrun_command_line(tmp_path):
    program, args = torchrun_command(4, tmp_path / "proj", {"model": "unet", "epochs": 3, "batch_size": 16,
                                                           "lr": 0.01, "crop": 128}, tmp_path / "out")
    assert program == sys.executable
    assert args[:2] == ["-m", "torch.distributed.run"] and "--nproc_per_node=4" in args
    i = args.index("segstudio")
    assert args[i - 1] == "-m" and args[i + 1] == "train" and args[i + 2] == str(tmp_path / "proj")
    assert args[args.index("--epochs") + 1] == "3" and args[args.index("--batch-size") + 1] == "16"
    assert args[args.index("--out") + 1] == str(tmp_path / "out")


def test_torchrun_command_carries_every_setting_of_the_form(tmp_path, qtbot, runner):
    """Live training on all GPUs must see new masks: the launcher takes the same schema as the CLI."""
    import argparse

    from segstudio.engine.config import TrainConfig, add_train_arguments, config_from_args

    form = TrainSettingsForm(runner)
    qtbot.addWidget(form)
    form.live_check.setChecked(True)
    form.extra_config = {"class_weights": [0.5, 2.0], "value_map": {0: 0, 255: 1}, "compile": True,
                         "channels_last": False}
    config = form.config()
    _program, args = torchrun_command(2, tmp_path / "proj", config, tmp_path / "out")
    parser = argparse.ArgumentParser()
    parser.add_argument("project")
    add_train_arguments(parser)
    train_args = args[args.index("train") + 1:]
    parsed = config_from_args(parser.parse_args(train_args))
    # previews do not come from another process (the panel predicts each new checkpoint instead)
    expected = TrainConfig.from_json({**config, "device": "cuda", "out": str(tmp_path / "out"), "preview_every_s": 0.0})
    assert parsed == expected
    assert parsed.watch_project and parsed.class_weights == [0.5, 2.0] and parsed.value_map == {0: 0, 255: 1}
    assert parsed.compile and not parsed.channels_last and parsed.epochs == LIVE_EPOCHS


# ---------------------------------------------------------------------------- subprocess run (fake torchrun)
FAKE_TRAINER = r'''
import json, sys, time
out = sys.argv[1]; n = int(sys.argv[2]); delay = float(sys.argv[3])
import os
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "metrics.jsonl"), "a") as fh:
    i = 0
    while n < 0 or i < n:
        fh.write(json.dumps({"type": "StepEvent", "epoch": i // 4, "step": i % 4, "global_step": i,
                             "total_steps": max(n, 1), "loss": 1.0 / (i + 1), "lr": 0.001,
                             "images_per_s": 5.0}) + "\n")
        if i % 4 == 3:
            fh.write(json.dumps({"type": "EpochEnd", "epoch": i // 4, "train_loss": 0.5, "val_loss": 0.4,
                                 "miou": 0.1 * (i // 4 + 1)}) + "\n")
        fh.flush()
        i += 1
        time.sleep(delay)
print("fake training done", flush=True)
'''


@pytest.fixture
def fake_trainer(tmp_path) -> Path:
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    return script


def test_multi_gpu_run_follows_metrics_of_a_subprocess(qtbot, tmp_path, fake_trainer):
    run_dir = tmp_path / "run"
    run = MultiGpuRun(run_dir, poll_ms=30)
    records = []
    run.recordsAppended.connect(records.extend)
    with qtbot.waitSignal(run.finished, timeout=15000) as blocker:
        run.start(sys.executable, [str(fake_trainer), str(run_dir), "8", "0.01"])
    assert blocker.args == [0, "completed"]
    assert [r.global_step for r in records if isinstance(r, StepRecord)] == list(range(8))
    assert len([r for r in records if isinstance(r, EpochRecord)]) == 2
    assert "fake training done" in run.output_text()


def test_multi_gpu_run_stop_terminates_the_process(qtbot, tmp_path, fake_trainer):
    run_dir = tmp_path / "run"
    run = MultiGpuRun(run_dir, poll_ms=30)
    run.start(sys.executable, [str(fake_trainer), str(run_dir), "-1", "0.02"])
    qtbot.waitUntil(lambda: (run_dir / "metrics.jsonl").is_file(), timeout=10000)
    with qtbot.waitSignal(run.finished, timeout=6000) as blocker:
        run.stop(kill_after_ms=2000)
    assert blocker.args[1] == "cancelled"
    assert not run.is_running()


@pytest.mark.slow
def test_real_torchrun_with_two_cpu_ranks_is_followed(qtbot, tmp_path):
    """The panel's torchrun command line against the real CLI (2 gloo ranks on the CPU instead of GPUs)."""
    from segstudio.core.demo import generate_demo_project

    project = tmp_path / "project"
    generate_demo_project(project, n_images=6, labeled=4, size=(64, 64))
    run_dir = tmp_path / "ddp-run"
    program, args = torchrun_command(2, project, {"model": "unet", "epochs": 2, "batch_size": 2, "crop": 32,
                                                  "steps_per_epoch": 2, "model_args": {"width": 4},
                                                  "pretrained": False, "precision": "fp32"}, run_dir, device="cpu")
    run = MultiGpuRun(run_dir, poll_ms=100)
    records: list = []
    run.recordsAppended.connect(records.extend)
    with qtbot.waitSignal(run.finished, timeout=180000) as done:
        run.start(program, args)
    assert done.args == [0, "completed"], run.output_text()
    kinds = [k for k, _ in records_to_events(records)]
    assert kinds.count("epoch") == 2 and "steps" in kinds and "start" in kinds
    assert (run_dir / "last.pt").is_file() and read_run(run_dir).status == "completed"


def test_multi_gpu_run_kills_a_process_that_ignores_terminate(qtbot, tmp_path):
    script = tmp_path / "stubborn.py"
    script.write_text("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
                      "while True:\n    time.sleep(0.05)\n")
    run = MultiGpuRun(tmp_path / "run", poll_ms=50)
    run.start(sys.executable, [str(script)])
    qtbot.waitUntil(lambda: "ready" in run.output_text(), timeout=10000)
    with qtbot.waitSignal(run.finished, timeout=8000) as blocker:
        run.stop(kill_after_ms=300)
    assert blocker.args[1] == "cancelled" and not run.is_running()


def test_large_confidence_maps_are_handed_on_as_uint8_and_still_dim_the_overlay():
    from segstudio.gui.canvas.layers import DIM_OFFSET, prediction_values
    from segstudio.gui.training.prediction import COMPACT_CONFIDENCE_PIXELS, compact_confidence

    small = np.full((8, 8), 0.3, np.float32)
    assert compact_confidence(small) is small and compact_confidence(None) is None
    side = int(COMPACT_CONFIDENCE_PIXELS ** 0.5) + 1
    conf = np.ones((side, side), np.float32)
    conf[:, : side // 2] = 0.2
    packed = compact_confidence(conf)
    assert packed.dtype == np.uint8 and packed.shape == conf.shape
    assert packed[0, 0] == 51 and packed[0, -1] == 255
    values = prediction_values(np.full(conf.shape, 2, np.uint8), packed, n_colors=4)
    assert values[0, 0] == 2 + DIM_OFFSET and values[0, -1] == 2  # unsure pixels use the dimmed colour
