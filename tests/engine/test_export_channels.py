"""Exports of C-channel models: they run in onnxruntime and TorchScript and carry the channel description."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from segstudio.core.channels import ChannelSpec
from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import FORMAT, VERSION, save_checkpoint
from segstudio.engine.export import export_checkpoint, export_module, load_torchscript, read_onnx_metadata, run_onnx
from segstudio.engine.models import create_model

CLASSES = [ClassInfo(0, "background", "#000000"), ClassInfo(1, "cell", "#e6194b")]
SPEC = ChannelSpec.native(4, "uint16", ["DAPI", "GFP", "RFP", "Cy5"]).with_channel(
    3, normalization="range", low=100.0, high=4000.0)


def _checkpoint(path, name="unet", args=None):
    args = dict(args if args is not None else {"width": 4, "depth": 2})
    torch.manual_seed(0)
    model = create_model(name, 2, pretrained=False, in_channels=4, **args).eval()
    save_checkpoint(path, {"format": FORMAT, "version": VERSION, "model": {"name": name, "args": args},
                           "num_classes": 2, "classes": [c.to_json() for c in CLASSES],
                           "normalization": {"mean": [0.5] * 4, "std": [0.25] * 4}, "channels": SPEC.to_json(),
                           "config": {"crop": 64}, "state_dict": model.state_dict()})
    return model


@pytest.mark.parametrize("name,args", [("unet", {"width": 4, "depth": 2}), ("lraspp_mobilenet_v3", {})])
def test_onnx_export_takes_c_channels_and_carries_the_description(tmp_path, name, args):
    model = _checkpoint(tmp_path / "best.pt", name, args)
    res = export_checkpoint(tmp_path / "best.pt", "onnx", tmp_path / "m.onnx")
    assert res.argmax_agreement >= 0.999
    x = torch.randn(2, 4, 70, 90)
    with torch.no_grad():
        ref = model(x)
    got = run_onnx(tmp_path / "m.onnx", x)
    assert got.shape == (2, 2, 70, 90) and float((got - ref).abs().max()) <= 1e-3
    meta = read_onnx_metadata(tmp_path / "m.onnx")
    assert ChannelSpec.from_json(meta["channels"]) == SPEC
    assert meta["input"]["channels"] == 4 and meta["normalization"]["mean"] == [0.5] * 4
    assert "clipped" in meta["normalization"]["note"]
    import onnx

    proto = onnx.load(str(tmp_path / "m.onnx"))
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["channels"])["channels"][0]["name"] == "DAPI"
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 4


def test_torchscript_export_takes_c_channels(tmp_path):
    model = _checkpoint(tmp_path / "best.pt")
    export_checkpoint(tmp_path / "best.pt", "torchscript", tmp_path / "m.ts")
    module, meta = load_torchscript(tmp_path / "m.ts")
    x = torch.randn(1, 4, 33, 47)
    with torch.no_grad():
        assert torch.allclose(module(x), model(x), atol=1e-4)
    assert meta["channels"]["count"] == 4


def test_export_refuses_a_description_that_does_not_fit_the_model(tmp_path):
    model = create_model("unet", 2, pretrained=False, in_channels=3, width=4, depth=2)
    with pytest.raises(SegstudioError, match="3 input channels"):
        export_module(model, CLASSES, {"mean": [0.5] * 4, "std": [0.25] * 4}, "onnx", tmp_path / "x.onnx", channels=SPEC)
    assert not (tmp_path / "x.onnx").exists()


def test_rgb_export_metadata_is_as_before(tmp_path):
    model = create_model("unet", 2, pretrained=False, width=4, depth=2)
    res = export_module(model, CLASSES, {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, "onnx",
                        tmp_path / "rgb.onnx")
    assert res.metadata["channels"]["kind"] == "rgb" and res.metadata["input"]["channels"] == 3
    assert res.metadata["normalization"]["scale"] == pytest.approx(1 / 255)
    assert np.isfinite(res.max_abs_diff)
