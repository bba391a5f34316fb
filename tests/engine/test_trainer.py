"""Trainer behaviour: events, files, cancel, OOM recovery, exact resume, bad input."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch

from segstudio.engine.checkpoint import load_checkpoint
from segstudio.engine.trainer import Trainer


def test_run_emits_events_and_writes_run_folder(tiny_project, tiny_config, recorder):
    end = Trainer(tiny_project, tiny_config(epochs=3), [recorder]).run()
    assert end.status == "completed", end.message
    names = [n for n, _ in recorder.events]
    assert names[0] == "on_train_start" and names[-1] == "on_end" and names.count("on_end") == 1
    start = recorder.of("on_train_start")[0]
    assert start.num_train + start.num_val == 5 and start.class_names == tiny_project.class_names
    steps = recorder.of("on_step")
    assert len(steps) == 9 and steps[-1].global_step == 8 and all(s.images_per_s > 0 for s in steps)
    epochs = recorder.of("on_epoch_end")
    assert len(epochs) == 3 and all(0.0 <= e.miou <= 1.0 for e in epochs)
    assert len(epochs[0].per_class_iou) == 4
    previews = recorder.of("on_preview")
    assert len(previews) == 3 and previews[0].mask.shape == (64, 64) and previews[0].mask.dtype == np.uint8
    assert previews[0].confidence.dtype == np.float32 and float(previews[0].confidence.max()) <= 1.0
    kinds = {c.kind for c in recorder.of("on_checkpoint")}
    assert kinds == {"best", "last"}
    run = end.run_dir
    for name in ("config.json", "metrics.jsonl", "best.pt", "last.pt", "split.json"):
        assert (run / name).is_file(), name
    split = json.loads((run / "split.json").read_text())
    assert set(split["train"]).isdisjoint(split["val"]) and len(split["train"]) + len(split["val"]) == 5
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(r["type"] == "EpochEnd" for r in lines) and lines[-1]["type"] == "TrainEnd"
    ck = load_checkpoint(run / "last.pt")
    assert ck["epoch"] == 3 and ck["split"]["val"] == split["val"]


def test_loss_falls_on_sparse_masks(tiny_project, tiny_config, recorder):
    # keep only a few labeled pixels per mask: 255 elsewhere must be ignored, training must still learn
    for path in tiny_project.labeled_images():
        mask = tiny_project.read_mask(path)
        sparse = np.full_like(mask, 255)
        sparse[::4, ::4] = mask[::4, ::4]
        tiny_project.write_mask(path, sparse)
    cfg = tiny_config(epochs=4, steps_per_epoch=5, crop=48, model_args={"width": 8, "depth": 2}, val_fraction=0.0)
    end = Trainer(tiny_project, cfg, [recorder]).run()
    assert end.status == "completed", end.message
    losses = [e.train_loss for e in recorder.of("on_epoch_end")]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_cancel_is_prompt_and_leaves_valid_checkpoint(tiny_project, tiny_config, recorder):
    trainer = Trainer(tiny_project, tiny_config(epochs=1000, steps_per_epoch=50), [recorder])
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("end", trainer.run()))
    thread.start()
    deadline = time.monotonic() + 60
    while not recorder.of("on_step") and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    trainer.cancel()
    thread.join(30)
    elapsed = time.monotonic() - t0
    assert not thread.is_alive()
    assert result["end"].status == "cancelled"
    assert elapsed < 5.0  # honoured between batches (well within 1 s when the CPU is not shared)
    ck = load_checkpoint(result["end"].run_dir / "last.pt")
    assert ck["global_step"] >= 1 and [n for n, _ in recorder.events].count("on_end") == 1


def test_out_of_memory_halves_batch_and_continues(tiny_project, tiny_config, recorder, monkeypatch):
    trainer = Trainer(tiny_project, tiny_config(batch_size=4, epochs=1), [recorder])
    original = Trainer._forward_backward
    calls = {"n": 0, "sizes": []}

    def flaky(self, x, y):
        calls["n"] += 1
        calls["sizes"].append(x.shape[0])
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return original(self, x, y)

    monkeypatch.setattr(Trainer, "_forward_backward", flaky)
    end = trainer.run()
    assert end.status == "completed", end.message
    reduced = recorder.of("on_batch_size_reduced")
    assert len(reduced) == 1 and (reduced[0].old, reduced[0].new) == (4, 2)
    assert "out of memory" in reduced[0].reason
    assert calls["sizes"][:2] == [4, 2] and set(calls["sizes"][1:]) == {2}


def test_failure_ends_with_failed_event(tiny_project, tiny_config, recorder, monkeypatch):
    def boom(self, x, y):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Trainer, "_forward_backward", boom)
    end = Trainer(tiny_project, tiny_config(), [recorder]).run()
    assert end.status == "failed" and "kaboom" in end.message and "RuntimeError" in end.traceback
    assert recorder.of("on_end") == [end]


def test_resume_matches_uninterrupted_run(tiny_project, tiny_config, tmp_path):
    cfg = dict(epochs=3, steps_per_epoch=3, optimizer="adam", scheduler="cosine", warmup_epochs=1.0)
    full = Trainer(tiny_project, tiny_config(out=tmp_path / "full", **cfg)).run()
    assert full.status == "completed", full.message

    class CancelAt:
        def __init__(self):
            self.trainer = None

        def on_step(self, ev):
            if ev.global_step == 4:  # mid-way through the second epoch
                self.trainer.cancel()

    stopper = CancelAt()
    part = Trainer(tiny_project, tiny_config(out=tmp_path / "part", **cfg), [stopper])
    stopper.trainer = part
    assert part.run().status == "cancelled"
    assert load_checkpoint(tmp_path / "part" / "last.pt")["global_step"] == 5
    resumed = Trainer(tiny_project, tiny_config(resume=tmp_path / "part" / "last.pt", **cfg)).run()
    assert resumed.status == "completed", resumed.message
    a = load_checkpoint(tmp_path / "full" / "last.pt")["state_dict"]
    b = load_checkpoint(tmp_path / "part" / "last.pt")["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_no_labeled_images_is_a_user_error(tmp_path, tiny_config, recorder):
    from segstudio.core.project import Project

    project = Project.create(tmp_path / "empty", ["bg", "fg"])
    end = Trainer(project, tiny_config(), [recorder]).run()
    assert end.status == "failed" and end.user_error
    assert "no labeled images" in end.message and str(project.root) in end.message
    assert recorder.of("on_end") == [end]


def test_unreadable_image_is_skipped_with_warning(tiny_project, tiny_config, recorder):
    bad = tiny_project.labeled_images()[0]
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    end = Trainer(tiny_project, tiny_config(epochs=1), [recorder]).run()
    assert end.status == "completed", end.message
    warnings = recorder.of("on_warning")
    assert any(bad.name in w for w in warnings)
    start = recorder.of("on_train_start")[0]
    assert start.num_train + start.num_val == 4


@pytest.mark.parametrize("field,value,listed", [("model", "nope", "unet"), ("loss", "l2", "ce+dice"),
                                                 ("optimizer", "lion", "adamw")])
def test_unknown_names_list_valid_ones(tiny_project, tiny_config, field, value, listed):
    end = Trainer(tiny_project, tiny_config(**{field: value})).run()
    assert end.status == "failed" and end.user_error and value in end.message and listed in end.message


def test_dice_loss_sgd_poly_and_preview_choice(tiny_project, tiny_config, recorder):
    trainer = Trainer(tiny_project, tiny_config(epochs=1, loss="ce+dice", optimizer="sgd", scheduler="poly"), [recorder])
    unlabeled = tiny_project.image_id(tiny_project.list_images()[-1])
    trainer.set_preview_image(unlabeled)
    end = trainer.run()
    assert end.status == "completed", end.message
    assert recorder.of("on_preview")[0].image_id == unlabeled
    lrs = [s.lr for s in recorder.of("on_step")]
    assert all(lr > 0 for lr in lrs)


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["auto", "fp16", "fp32"])
def test_cuda_training_with_mixed_precision(tiny_project, tiny_config, recorder, precision):
    end = Trainer(tiny_project, tiny_config(device="cuda", precision=precision, epochs=2), [recorder]).run()
    assert end.status == "completed", end.message
    start = recorder.of("on_train_start")[0]
    assert start.device.startswith("cuda") and start.precision in ("bf16", "fp16", "fp32")
    assert np.isfinite([s.loss for s in recorder.of("on_step")]).all()
    assert load_checkpoint(end.run_dir / "last.pt")["state_dict"]


def test_watch_project_picks_up_new_masks(tiny_project, tiny_config, recorder):
    unlabeled = tiny_project.list_images()[-1]
    assert not tiny_project.has_mask(unlabeled)

    class LabelAfterFirstEpoch:
        def on_epoch_end(self, ev):
            if ev.epoch == 0:
                tiny_project.write_mask(unlabeled, np.zeros((64, 64), np.uint8))

    trainer = Trainer(tiny_project, tiny_config(epochs=2, watch_project=True), [recorder, LabelAfterFirstEpoch()])
    end = trainer.run()
    assert end.status == "completed", end.message
    assert tiny_project.image_id(unlabeled) in trainer.train_ids
    assert len(trainer.train_ids) == recorder.of("on_train_start")[0].num_train + 1


@pytest.mark.parametrize("model,args", [("segnet", {"width": 4, "depth": 2}), ("lraspp_mobilenet_v3", {})])
def test_other_models_train(tiny_project, tiny_config, model, args, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # empty cache: no pretrained weights, no download
    end = Trainer(tiny_project, tiny_config(model=model, model_args=args, epochs=1, steps_per_epoch=2, crop=64)).run()
    assert end.status == "completed", end.message
    ck = load_checkpoint(end.run_dir / "best.pt")
    assert ck["model"]["name"] == model and ck["pretrained"] is None


def test_logged_step_loss_is_the_mean_over_ranks_and_run_folder_comes_from_rank0(tiny_project, tiny_config, tmp_path,
                                                                                  recorder, monkeypatch):
    from segstudio.engine import distributed

    plain, seen = type(recorder)(), recorder
    assert Trainer(tiny_project, tiny_config(out=tmp_path / "plain"), [plain]).run().status == "completed"
    # the collectives as seen from a process whose (simulated) peer, rank 0, differs from it
    monkeypatch.setattr(distributed, "all_reduce_mean", lambda t, info: t.add_(0.5))  # the peer's loss is 1 higher
    monkeypatch.setattr(distributed, "broadcast_object", lambda obj, info: str(tmp_path / "from-rank0"))
    trainer = Trainer(tiny_project, tiny_config(), [seen])  # no --out: this rank would name its own folder
    end = trainer.run()
    assert end.status == "completed", end.message
    assert end.run_dir == tmp_path / "from-rank0" == seen.of("on_train_start")[0].run_dir
    assert (tmp_path / "from-rank0" / "last.pt").is_file() and not (tiny_project.root / "runs").exists()
    own = [ev.loss for ev in plain.of("on_step")]
    logged = [ev.loss for ev in seen.of("on_step")]
    assert logged == pytest.approx([v + 0.5 for v in own], abs=1e-5)  # training itself is unchanged
    steps = [json.loads(line) for line in (tmp_path / "from-rank0" / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in steps if r["type"] == "StepEvent"] == pytest.approx(logged)
