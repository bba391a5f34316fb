"""Model registry: every model maps (B,3,H,W) to (B,C,H,W); unknown names list the valid ones (pretrained
weights from the weights folder: test_weights.py)."""

from __future__ import annotations

import pytest
import torch

from segstudio.core.errors import SegstudioError
from segstudio.engine.models import SegNet, available_models, create_model, pretrained_used


def test_registry_lists_all_models():
    assert available_models()[:2] == ["unet", "segnet"]
    assert {"lraspp_mobilenet_v3", "deeplabv3_mobilenet_v3", "deeplabv3_resnet50", "fcn_resnet50"} <= set(available_models())


@pytest.mark.parametrize("name,args", [("unet", {"width": 4}), ("unet", {"width": 8, "depth": 3}),
                                       ("segnet", {"width": 4, "depth": 4})])
@pytest.mark.parametrize("classes", [1, 2, 7])
def test_small_models_keep_input_size(name, args, classes):
    model = create_model(name, classes, **args).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 37, 50))  # odd sizes are padded internally and cropped back
    assert out.shape == (2, classes, 37, 50)


@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3", "deeplabv3_mobilenet_v3", "deeplabv3_resnet50", "fcn_resnet50"])
def test_torchvision_models_return_plain_logits(name, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache: nothing is downloaded
    model = create_model(name, 3).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 3, 64, 64)
    assert pretrained_used(model) is None


def test_segnet_reuses_pooling_indices():
    model = SegNet(3, width=4, depth=3).eval()
    calls = []
    original = torch.nn.functional.max_unpool2d

    def spy(*a, **kw):
        calls.append(a[1].dtype)
        return original(*a, **kw)

    torch.nn.functional.max_unpool2d = spy
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 32, 32))
    finally:
        torch.nn.functional.max_unpool2d = original
    assert calls == [torch.int64] * 3


def test_unknown_model_lists_valid_names():
    with pytest.raises(SegstudioError) as err:
        create_model("resnet9000", 3)
    assert "resnet9000" in str(err.value) and "unet" in str(err.value) and "fcn_resnet50" in str(err.value)
