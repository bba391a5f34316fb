"""``--init CKPT``: a new run starts from an earlier model's weights (any project), not a resume."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from segstudio.core.classes import ClassInfo
from segstudio.core.demo import generate_demo_project
from segstudio.engine.checkpoint import load_checkpoint, save_checkpoint
from segstudio.engine.config import TrainConfig
from segstudio.core.errors import SegstudioError
from segstudio.engine.init_from import check_init, head_keys
from segstudio.engine.models import available_models, create_model
from segstudio.engine.trainer import Trainer


@pytest.fixture
def source_run(tiny_project, tiny_config, tmp_path):
    end = Trainer(tiny_project, tiny_config(out=tmp_path / "source", epochs=1)).run()
    assert end.status == "completed", end.message
    return tmp_path / "source" / "best.pt"


def _weights(path):
    return load_checkpoint(path)["state_dict"]


class _Capture:
    """Keeps the model the trainer built, before its first step changes it."""

    def __init__(self, trainer: Trainer) -> None:
        self.state = None
        trainer.add_callback(self)
        self.trainer = trainer

    def on_train_start(self, ev) -> None:
        self.state = {k: v.detach().clone() for k, v in self.trainer.model.state_dict().items()}


def test_init_loads_every_weight_and_starts_fresh(tiny_project, tiny_config, source_run, tmp_path, recorder):
    trainer = Trainer(tiny_project, tiny_config(init=source_run, out=tmp_path / "b", epochs=1), [recorder])
    cap = _Capture(trainer)
    end = trainer.run()
    assert end.status == "completed", end.message
    src = _weights(source_run)
    assert all(torch.equal(cap.state[k], src[k]) for k in src)
    start = recorder.of("on_train_start")[0]
    assert start.start_epoch == 0 and start.pretrained is None
    sha = hashlib.sha256(source_run.read_bytes()).hexdigest()
    expected = {"path": str(source_run.resolve()), "sha256": sha, "model": "unet", "model_args": {"width": 4, "depth": 2},
                "classes": tiny_project.class_names, "head": "loaded", "head_classes_kept": tiny_project.class_names}
    assert start.init_source == expected
    assert json.loads((end.run_dir / "config.json").read_text())["init_source"] == expected
    ck = load_checkpoint(end.run_dir / "last.pt")
    assert ck["init_source"] == expected and ck["global_step"] == 3 and ck["epoch"] == 1  # schedule from zero
    assert ck["optimizer"]["state"][0]["step"] == 3  # a new optimizer: only this run's steps
    assert not recorder.of("on_warning")


def test_other_classes_get_a_new_head_keeping_shared_classes(tiny_project, tiny_config, source_run, tmp_path,
                                                             recorder):
    other = generate_demo_project(tmp_path / "other", n_images=6, labeled=5, size=(64, 64), seed=3)
    classes = [ClassInfo(0, "background", "#000000"), ClassInfo(1, "cell", "#ff0000"), ClassInfo(2, "crystal", "#00ff00"),
               ClassInfo(3, "debris", "#0000ff")]
    other.classes = classes
    other.save()
    trainer = Trainer(other, tiny_config(init=source_run, out=tmp_path / "b", epochs=1), [recorder])
    cap = _Capture(trainer)
    end = trainer.run()
    assert end.status == "completed", end.message
    src = _weights(source_run)
    assert all(torch.equal(cap.state[k], src[k]) for k in src if not k.startswith("head."))
    assert torch.equal(cap.state["head.weight"][:3], src["head.weight"][:3])  # background, cell, crystal kept
    assert not torch.equal(cap.state["head.weight"][3], src["head.weight"][3])  # debris is new, not fibre's
    rec = json.loads((end.run_dir / "config.json").read_text())["init_source"]
    assert rec["head"] == "reinitialized" and rec["head_classes_kept"] == ["background", "cell", "crystal"]
    assert check_init(source_run, "unet", {"width": 4, "depth": 2}, other.class_names).to_json() == rec  # for forms
    assert rec["classes"] == ["background", "cell", "crystal", "fibre"]
    [warning] = recorder.of("on_warning")
    assert "classifier head re-initialised" in warning and "debris" in warning
    log = [json.loads(line) for line in (end.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(r["type"] == "warning" and "re-initialised" in r["message"] for r in log)  # in the run's log


def test_a_different_class_count_and_order(tiny_project, tiny_config, source_run, tmp_path):
    other = generate_demo_project(tmp_path / "other", n_images=6, labeled=5, size=(64, 64), seed=3)
    masks = {p: other.read_mask(p) for p in other.labeled_images()}
    other.classes = [ClassInfo(0, "fibre", "#000000"), ClassInfo(1, "background", "#ff0000")]
    other.save()
    for p, m in masks.items():  # two classes now: objects 0, background 1
        other.write_mask(p, np.where(m == 255, 255, np.where(m == 0, 1, 0)).astype(np.uint8))
    trainer = Trainer(other, tiny_config(init=source_run, out=tmp_path / "b", epochs=1))
    cap = _Capture(trainer)
    assert trainer.run().status == "completed"
    src = _weights(source_run)
    assert cap.state["head.weight"].shape[0] == 2
    assert torch.equal(cap.state["head.bias"], src["head.bias"][[3, 0]])  # rows follow the class names


@pytest.mark.parametrize("change, message", [
    ({"model": "segnet", "model_args": {"width": 4, "depth": 2}}, "it holds a unet model and this run trains segnet"),
    ({"model_args": {"width": 8, "depth": 2}}, "down.0.0.0.weight is [4, 3, 3, 3], expected [8, 3, 3, 3]"),
    ({"model_args": {"width": 4, "depth": 3}}, "differs from this run's unet"),
])
def test_incompatible_architectures_are_refused_with_one_line(tiny_project, tiny_config, source_run, tmp_path, change,
                                                              message):
    end = Trainer(tiny_project, tiny_config(init=source_run, out=tmp_path / "b", **change)).run()
    assert end.status == "failed" and end.user_error
    assert message in end.message and str(source_run.resolve()) in end.message and "\n" not in end.message
    assert not (tmp_path / "b").exists()  # refused before anything is written
    cfg = tiny_config(**change)
    with pytest.raises(SegstudioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_init(source_run, cfg.model, cfg.model_args, tiny_project.class_names)  # the same refusal, up front


def test_another_channel_count_is_refused(tiny_project, tiny_config, source_run, tmp_path):
    ck = load_checkpoint(source_run)
    ck.pop("_path")
    ck["state_dict"]["down.0.0.0.weight"] = torch.zeros(4, 4, 3, 3)  # a model for 4-channel images
    four = save_checkpoint(tmp_path / "four.pt", ck)
    end = Trainer(tiny_project, tiny_config(init=four, out=tmp_path / "b")).run()
    assert end.user_error and end.message == (f"cannot start from {four.resolve()}: its model takes 4 input channels "
                                              "and this project's images have 3")


def test_not_a_checkpoint_is_refused(tiny_project, tiny_config, tmp_path):
    bad = tmp_path / "weights.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    end = Trainer(tiny_project, tiny_config(init=bad, out=tmp_path / "b")).run()
    assert end.user_error and "is not a segstudio checkpoint" in end.message and str(bad) in end.message


def test_resuming_an_initialised_run_keeps_its_record(tiny_project, tiny_config, source_run, tmp_path):
    first = Trainer(tiny_project, tiny_config(init=source_run, out=tmp_path / "b", epochs=1)).run()
    rec = load_checkpoint(first.run_dir / "last.pt")["init_source"]
    resumed = Trainer(tiny_project, tiny_config(resume=first.run_dir / "last.pt", out=tmp_path / "b", epochs=2)).run()
    assert resumed.status == "completed", resumed.message
    assert load_checkpoint(first.run_dir / "last.pt")["init_source"] == rec and rec["sha256"]


@pytest.mark.parametrize("name", available_models())
def test_head_keys_are_the_classifier_outputs(name):
    expected = {"unet": {"head.weight", "head.bias"}, "segnet": {"head.weight", "head.bias"},
                "lraspp_mobilenet_v3": {f"inner.classifier.{p}_classifier.{t}" for p in ("low", "high")
                                        for t in ("weight", "bias")}}
    with torch.device("meta"):
        own = create_model(name, 4, pretrained=False).state_dict()
    assert head_keys(name, {}, own, 4) == expected.get(name, {"inner.classifier.4.weight", "inner.classifier.4.bias"})


def _first_val_loss(project, out, **kw) -> float:
    losses = []

    class Epochs:
        def on_epoch_end(self, ev):
            losses.append(ev.val_loss)

    cfg = TrainConfig(model="unet", model_args={"width": 8, "depth": 3}, crop=64, batch_size=4, device="cpu", lr=1e-2,
                      seed=0, pretrained=False, preview_every_epoch=False, val_fraction=0.25, out=out, **kw)
    end = Trainer(project, cfg, [Epochs()]).run()
    assert end.status == "completed", end.message
    return losses[0]


def test_init_from_a_model_of_similar_data_lowers_the_first_epoch_validation_loss(tmp_path):
    first = generate_demo_project(tmp_path / "first", n_images=8, labeled=8, seed=1, size=(96, 96))
    second = generate_demo_project(tmp_path / "second", n_images=8, labeled=8, seed=2, size=(96, 96))
    _first_val_loss(first, tmp_path / "pre", epochs=6, steps_per_epoch=8)
    scratch = _first_val_loss(second, tmp_path / "scratch", epochs=1, steps_per_epoch=8)
    init = _first_val_loss(second, tmp_path / "init", epochs=1, steps_per_epoch=8, init=tmp_path / "pre" / "best.pt")
    assert init < 0.9 * scratch, (init, scratch)
