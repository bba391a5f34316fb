"""``segstudio export-model``: writes a working file, exits 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from segstudio.cli import main
from segstudio.engine.checkpoint import FORMAT, VERSION, save_checkpoint
from segstudio.engine.models import create_model

CLASSES = [{"id": 0, "name": "background", "color": "#000000"}, {"id": 1, "name": "cell", "color": "#e6194b"}]


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("unet", 2, pretrained=False, width=4, depth=2).eval()
    path = tmp_path / "best.pt"
    save_checkpoint(path, {
        "format": FORMAT, "version": VERSION, "model": {"name": "unet", "args": {"width": 4, "depth": 2}},
        "num_classes": 2, "classes": CLASSES, "normalization": {"mean": [0.5] * 3, "std": [0.25] * 3},
        "config": {}, "epoch": 1, "global_step": 1, "metrics": {}, "state_dict": model.state_dict(),
    })
    return path, model


def test_export_onnx_from_the_command_line(checkpoint, tmp_path, capsys):
    path, model = checkpoint
    out = tmp_path / "exported" / "model.onnx"
    assert main(["export-model", str(path), "--format", "onnx", "-o", str(out)]) == 0
    assert "model.onnx" in capsys.readouterr().out
    import onnx
    import onnxruntime as ort

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["class_names"]) == ["background", "cell"]
    x = torch.randn(2, 3, 45, 70)
    logits = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        assert float((torch.from_numpy(logits) - model(x)).abs().max()) <= 1e-3


def test_format_from_suffix_torchscript(checkpoint, tmp_path):
    path, model = checkpoint
    out = tmp_path / "model.pt"
    assert main(["export-model", str(path), "-o", str(out)]) == 0
    extra = {"segstudio.json": ""}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra["segstudio.json"])["normalization"]["mean"] == [0.5] * 3
    x = torch.randn(1, 3, 33, 20)
    with torch.no_grad():
        assert float((scripted(x) - model(x)).abs().max()) <= 1e-3


def test_missing_checkpoint_exits_2_with_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "segstudio", "export-model", str(tmp_path / "nope.pt"),
                          "--format", "onnx", "-o", str(tmp_path / "m.onnx")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "nope.pt" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_unknown_suffix_without_format_is_a_user_error(checkpoint, tmp_path, capsys):
    path, _ = checkpoint
    assert main(["export-model", str(path), "-o", str(tmp_path / "model.bin")]) == 2
    assert "--format" in capsys.readouterr().err
