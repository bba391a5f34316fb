"""The commands on multichannel projects: train, predict and evaluate refuse other channel counts (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from segstudio.cli import main
from segstudio.core.project import Project

TINY = ["--width", "4", "--crop", "32", "--batch-size", "2", "--epochs", "1", "--steps-per-epoch", "2",
        "--device", "cpu", "--lr", "0.01", "--val-fraction", "0"]


def _image(seed: int, channels: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 4000, (channels, 32, 40)).astype(np.uint16)
    mask = (img[-1] > 2000).astype(np.uint8)
    return img, mask


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "proj", ["background", "bright"])
    for i in range(3):
        img, mask = _image(i)
        tifffile.imwrite(project.images_dir / f"a{i}.tif", img, imagej=True, metadata={"axes": "CYX"})
        project.write_mask(f"a{i}.tif", mask)
    return project


@pytest.fixture
def trained(project, tmp_path, capsys):
    assert main(["train", str(project.root), *TINY, "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    return tmp_path / "run" / "last.pt"


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return lines[-1]


def test_predict_and_evaluate_four_channel_images(project, trained, tmp_path, capsys):
    assert main(["predict", str(trained), str(project.images_dir), "--out", str(tmp_path / "pred")]) == 0
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["a0.png", "a1.png", "a2.png"]
    capsys.readouterr()
    assert main(["evaluate", str(trained), str(project.root)]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 3


def test_predict_refuses_other_channel_count_naming_the_file(trained, tmp_path, capsys):
    img, _ = _image(9, channels=3)
    bad = tmp_path / "three.tif"
    tifffile.imwrite(bad, img, photometric="minisblack")
    assert main(["predict", str(trained), str(bad), "--out", str(tmp_path / "pred")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = _one_line(err)
    assert str(bad) in line and "3 channels" in line and "4 channels" in line


def test_evaluate_refuses_a_project_with_other_channels(trained, tmp_path, capsys):
    other = Project.create(tmp_path / "other", ["background", "bright"])
    img, mask = _image(5, channels=2)
    tifffile.imwrite(other.images_dir / "b.tif", img, photometric="minisblack")
    other.write_mask("b.tif", mask)
    assert main(["evaluate", str(trained), str(other.root)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "b.tif" in _one_line(err) and "2 channels" in _one_line(err)


def test_train_refuses_an_image_with_other_channels(project, tmp_path, capsys):
    img, mask = _image(7, channels=5)
    tifffile.imwrite(project.images_dir / "odd.tif", img, photometric="minisblack")
    project.write_mask("odd.tif", mask)
    assert main(["train", str(project.root), *TINY, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = _one_line(err)
    assert "odd.tif" in line and "5 channels" in line and "4 channels" in line


def test_export_model_of_a_four_channel_run(trained, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export-model", str(trained), "--format", "onnx", "-o", str(out)]) == 0
    from segstudio.engine.export import read_onnx_metadata, run_onnx

    import torch

    assert read_onnx_metadata(out)["channels"]["count"] == 4
    assert run_onnx(out, torch.randn(1, 4, 40, 56)).shape == (1, 2, 40, 56)
