"""Export to ONNX / TorchScript: same logits as PyTorch, dynamic sizes, metadata in the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import FORMAT, VERSION, save_checkpoint
from segstudio.engine.export import (export_checkpoint, export_module, load_torchscript, read_onnx_metadata,
                                     run_onnx)
from segstudio.engine.models import create_model

CLASSES = [ClassInfo(0, "background", "#000000"), ClassInfo(1, "cell", "#e6194b"), ClassInfo(2, "crystal", "#4363d8")]
NORM = {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}


def _randomize_norm_layers(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give BatchNorm layers non-trivial statistics, as after training."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return model.eval()


def make_checkpoint(path, name: str = "unet", args: dict | None = None, seed: int = 0):
    args = dict(args if args is not None else {"width": 4, "depth": 3})
    torch.manual_seed(seed)
    model = _randomize_norm_layers(create_model(name, len(CLASSES), pretrained=False, **args), seed)
    ckpt = {
        "format": FORMAT, "version": VERSION, "model": {"name": name, "args": args},
        "num_classes": len(CLASSES), "classes": [c.to_json() for c in CLASSES], "normalization": NORM,
        "config": {"crop": 64}, "epoch": 3, "global_step": 30, "metrics": {"miou": 0.5},
        "state_dict": model.state_dict(),
    }
    save_checkpoint(path, ckpt)
    return model


def _assert_matches(reference: torch.Tensor, exported: torch.Tensor) -> None:
    assert exported.shape == reference.shape
    assert float((exported - reference).abs().max()) <= 1e-3
    assert float((exported.argmax(1) == reference.argmax(1)).float().mean()) >= 0.999


@pytest.mark.parametrize("name,args", [("unet", {"width": 4, "depth": 3}), ("segnet", {"width": 4, "depth": 3})])
def test_onnx_and_torchscript_reproduce_pytorch_at_new_sizes(tmp_path, name, args):
    model = make_checkpoint(tmp_path / "best.pt", name, args)
    onnx_res = export_checkpoint(tmp_path / "best.pt", "onnx", tmp_path / "model.onnx")
    ts_res = export_checkpoint(tmp_path / "best.pt", "torchscript", tmp_path / "model.ts")
    assert onnx_res.max_abs_diff <= 1e-3 and ts_res.max_abs_diff <= 1e-3
    ts_model, ts_meta = load_torchscript(tmp_path / "model.ts")
    g = torch.Generator().manual_seed(3)
    # dynamic batch, height and width, including sizes that are not multiples of 2**depth
    for shape in [(1, 3, 97, 130), (4, 3, 64, 48), (2, 3, 150, 33)]:
        x = torch.randn(*shape, generator=g)
        with torch.no_grad():
            reference = model(x)
            scripted = ts_model(x)
        assert float(reference.abs().max()) > 0.1  # non-trivial logits
        _assert_matches(reference, run_onnx(tmp_path / "model.onnx", x))
        _assert_matches(reference, scripted)
    assert ts_meta["class_names"] == ["background", "cell", "crystal"] and ts_meta["model"]["name"] == name
    _check_metadata(tmp_path / "model.onnx", tmp_path / "model.ts")


def _check_metadata(onnx_path, ts_path) -> None:
    import onnx

    proto = onnx.load(str(onnx_path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["class_names"]) == ["background", "cell", "crystal"]
    assert json.loads(props["class_colors"]) == ["#000000", "#e6194b", "#4363d8"]
    assert json.loads(props["normalization"])["mean"] == NORM["mean"]
    for meta in (read_onnx_metadata(onnx_path), load_torchscript(ts_path)[1]):
        assert meta["classes"][1] == {"id": 1, "name": "cell", "color": "#e6194b"}
        assert meta["normalization"]["std"] == NORM["std"]
        assert meta["normalization"]["scale"] == pytest.approx(1 / 255)
        assert meta["model"]["num_classes"] == 3 and meta["model"]["epoch"] == 3
    # batch, height and width are dynamic in the graph itself
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(proto.graph.input) + list(proto.graph.output)}
    assert dims["image"] == ["batch", 3, "height", "width"]
    assert dims["logits"] == ["batch", 3, "height", "width"]


def test_torchvision_model_exports(tmp_path):
    torch.manual_seed(0)
    model = create_model("lraspp_mobilenet_v3", 3, pretrained=False).eval()
    res = export_module(model, CLASSES, NORM, "onnx", tmp_path / "tv.onnx", {"name": "lraspp_mobilenet_v3"})
    assert res.max_abs_diff <= 1e-3 and res.argmax_agreement >= 0.999
    x = torch.randn(1, 3, 90, 70)
    with torch.no_grad():
        _assert_matches(model(x), run_onnx(tmp_path / "tv.onnx", x))


def test_unknown_format_and_bad_checkpoint_are_user_errors(tmp_path):
    make_checkpoint(tmp_path / "c.pt")
    with pytest.raises(SegstudioError, match="unknown export format 'tflite'"):
        export_checkpoint(tmp_path / "c.pt", "tflite", tmp_path / "m.x")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SegstudioError, match="junk.pt"):
        export_checkpoint(tmp_path / "junk.pt", "onnx", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.x").exists()


def test_failed_verification_writes_nothing(tmp_path, monkeypatch):
    import segstudio.engine.export as export

    make_checkpoint(tmp_path / "c.pt")
    monkeypatch.setattr(export, "run_onnx", lambda data, x: torch.from_numpy(np.zeros((3, 3) + tuple(x.shape[2:]),
                                                                                        np.float32)))
    with pytest.raises(SegstudioError, match="does not reproduce PyTorch"):
        export_checkpoint(tmp_path / "c.pt", "onnx", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
