"""The headless commands end to end: train -> predict -> evaluate, and their bad-input errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.cli import main

TINY = ["--width", "4", "--crop", "32", "--batch-size", "2", "--epochs", "2", "--steps-per-epoch", "2",
        "--device", "cpu", "--lr", "0.01"]


@pytest.fixture
def project(tmp_path):
    from segstudio.core.demo import generate_demo_project

    return generate_demo_project(tmp_path / "proj", n_images=5, labeled=4, size=(48, 64))


@pytest.fixture
def trained(project, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", str(project.root), *TINY, "--out", str(run_dir), "--loss", "ce+dice", "--optimizer", "adam"]) == 0
    capsys.readouterr()
    return run_dir


def test_train_writes_run_and_plain_progress(project, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", str(project.root), *TINY, "--out", str(run_dir), "--seed", "3", "--val-fraction", "0.25"]) == 0
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "completed" in err and "\r" not in err  # plain lines when not a terminal
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["config"]["seed"] == 3 and cfg["config"]["crop"] == 32 and cfg["device"] == "cpu"
    assert (run_dir / "best.pt").is_file() and (run_dir / "last.pt").is_file()
    assert len(json.loads((run_dir / "split.json").read_text())["val"]) == 1


def test_train_resume_continues_the_run(project, trained, capsys):
    assert main(["train", str(project.root), "--resume", str(trained / "last.pt"), "--epochs", "3", "--device", "cpu"]) == 0
    import torch

    ck = torch.load(trained / "last.pt", weights_only=True)
    assert ck["epoch"] == 3 and ck["global_step"] == 6


def test_predict_writes_palette_masks_at_original_size(project, trained, tmp_path, capsys):
    big = tmp_path / "inputs" / "big.png"
    big.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 410, 3), dtype=np.uint8)).save(big)
    gray = tmp_path / "inputs" / "sub" / "gray.png"
    gray.parent.mkdir()
    Image.fromarray(np.zeros((20, 30), np.uint8), mode="L").save(gray)
    single = project.list_images()[-1]
    out = tmp_path / "masks"
    assert main(["predict", str(trained / "best.pt"), str(tmp_path / "inputs"), str(single), "--out", str(out),
                 "--device", "cpu"]) == 0
    for rel, size in (("big.png", (410, 300)), ("sub/gray.png", (30, 20)), (single.stem + ".png", (64, 48))):
        with Image.open(out / rel) as img:
            assert img.mode == "P" and img.size == size
            assert np.asarray(img).max() < project.num_classes
            assert img.getpalette()[3:6] == list(project.colors[1])
    # the tile batch size changes how the big image is computed, not the mask
    assert main(["predict", str(trained / "best.pt"), str(big), "--out", str(tmp_path / "b1"), "--device", "cpu",
                 "--tile-batch", "1"]) == 0
    with Image.open(out / "big.png") as a, Image.open(tmp_path / "b1" / "big.png") as b:
        assert (np.asarray(a) == np.asarray(b)).mean() > 0.999  # batched convolutions may round differently
    capsys.readouterr()
    assert main(["predict", str(trained / "best.pt"), str(big), "--out", str(tmp_path / "b0"), "--tile-batch", "0"]) == 2
    assert "--tile-batch must be at least 1" in capsys.readouterr().err


def test_evaluate_prints_one_json_object(project, trained, capsys):
    assert main(["evaluate", str(trained / "best.pt"), str(project.root), "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert len(out) == 1 and 0.0 <= result["miou"] <= 1.0 and 0.0 <= result["pixel_acc"] <= 1.0
    assert set(result["iou"]) == set(project.class_names) and "dice" in result and result["images"] == 4
    assert main(["evaluate", str(trained / "best.pt"), str(project.root), "--device", "cpu", "--split", "val"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 1  # the run's own validation image


def test_evaluate_on_best_pt_prints_the_miou_the_run_recorded(tmp_path, capsys):
    from segstudio.core.demo import generate_demo_project

    # validation images larger than the inference tile: validation and evaluate both go through tiles
    project = generate_demo_project(tmp_path / "big", n_images=4, labeled=4, size=(560, 600))
    run_dir = tmp_path / "run"
    assert main(["train", str(project.root), *TINY, "--epochs", "3", "--val-fraction", "0.5", "--val-every", "1",
                 "--out", str(run_dir)]) == 0
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    best_epoch = max((r for r in records if r["type"] == "EpochEnd"), key=lambda r: r["miou"])
    assert all(r["miou"] is not None for r in records if r["type"] == "EpochEnd")
    capsys.readouterr()
    assert main(["evaluate", str(run_dir / "best.pt"), str(project.root), "--device", "cpu", "--split", "val"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 2
    assert f"{result['miou']:.4f}" == f"{best_epoch['miou']:.4f}"
    assert result["miou"] == pytest.approx(best_epoch["miou"], abs=1e-9)  # the same computation, not a close one
    assert result["pixel_acc"] == pytest.approx(best_epoch["pixel_acc"], abs=1e-9)


def test_evaluate_refuses_other_classes(project, trained, capsys):
    project.add_class("extra")
    assert main(["evaluate", str(trained / "best.pt"), str(project.root)]) == 2
    err = capsys.readouterr().err
    assert "classes" in err and "differ" in err and "extra" in err


def test_train_without_labeled_images_exits_2(tmp_path, capsys):
    from segstudio.core.project import Project

    Project.create(tmp_path / "empty", ["bg", "fg"])
    assert main(["train", str(tmp_path / "empty"), *TINY]) == 2
    err = capsys.readouterr().err
    assert f"no labeled images in {tmp_path / 'empty'}" in err and "Traceback" not in err


@pytest.mark.parametrize("flag,value,valid", [("--model", "bogus", "segnet"), ("--loss", "hinge", "ce+dice"),
                                              ("--optimizer", "rmsprop", "adamw")])
def test_unknown_names_exit_2_listing_valid(project, capsys, flag, value, valid):
    assert main(["train", str(project.root), flag, value, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert value in err and valid in err


def test_bad_checkpoints_exit_2(project, tmp_path, capsys):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(b"PK\x03\x04 truncated")
    assert main(["evaluate", str(cut), str(project.root)]) == 2
    assert "cut.pt" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nope.pt"), str(project.root), "--out", str(tmp_path / "o")]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_foreign_masks_need_and_accept_mask_map(tmp_path, capsys):
    from segstudio.core.project import Project

    proj = Project.create(tmp_path / "foreign", ["bg", "fg"])
    rng = np.random.default_rng(1)
    for i in range(3):
        img = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(img).save(proj.images_dir / f"im{i}.png")
        m = np.zeros((40, 40), np.uint8)
        m[10:30, 10:30] = 255  # 255 means foreground here, not "unlabeled"
        proj.masks_dir.mkdir(exist_ok=True)
        Image.fromarray(m, mode="L").save(proj.masks_dir / f"im{i}.png")
    assert main(["train", str(proj.root), *TINY]) == 2
    assert "--mask-map" in capsys.readouterr().err
    assert main(["train", str(proj.root), *TINY, "--mask-map", "0:0,255:1", "--out", str(tmp_path / "r")]) == 0
