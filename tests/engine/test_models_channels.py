"""Models with C input channels: native for U-Net/SegNet, an adapted first convolution for torchvision models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segstudio.core.errors import SegstudioError
from segstudio.engine.models import adapt_first_conv, create_model, model_in_channels


@pytest.mark.parametrize("name,args", [("unet", {"width": 4, "depth": 2}), ("segnet", {"width": 4, "depth": 2}),
                                       ("lraspp_mobilenet_v3", {}), ("deeplabv3_mobilenet_v3", {})])
@pytest.mark.parametrize("channels", [1, 5])
def test_models_take_c_channels(name, args, channels):
    model = create_model(name, 3, pretrained=False, in_channels=channels, **args).eval()
    assert model_in_channels(model) == channels
    with torch.no_grad():
        out = model(torch.randn(1, channels, 48, 40))
    assert out.shape == (1, 3, 48, 40)


def test_adapted_first_conv_keeps_rgb_filters_and_averages_for_extra_channels():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 2, 1))
    w = net[0].weight.detach().clone()
    b = net[0].bias.detach().clone()
    adapt_first_conv(net, 5)
    new = net[0].weight.detach()
    assert new.shape == (6, 5, 3, 3)
    assert torch.allclose(new[:, :3], w * 3 / 5) and torch.allclose(new[:, 3], w.mean(1) * 3 / 5)
    assert torch.allclose(new[:, 4], w.mean(1) * 3 / 5) and torch.equal(net[0].bias.detach(), b)
    # a uniform input gives the same first-layer response as the RGB model on the same uniform input
    x3, x5 = torch.full((1, 3, 4, 4), 0.7), torch.full((1, 5, 4, 4), 0.7)
    ref = nn.functional.conv2d(x3, w, b, padding=1)
    assert torch.allclose(net[0](x5), ref, atol=1e-5)
    gray = nn.Sequential(nn.Conv2d(3, 4, 3))
    w3 = gray[0].weight.detach().clone()
    adapt_first_conv(gray, 1)
    assert torch.allclose(gray[0].weight.detach()[:, 0], w3.sum(1))


def test_pretrained_rgb_weights_are_adapted_not_dropped(monkeypatch, tmp_path):
    from test_weights import _mobilenet_entry_for

    reference, _path = _mobilenet_entry_for(tmp_path, monkeypatch)  # "official" weights in the weights folder
    model = create_model("lraspp_mobilenet_v3", 2, in_channels=4)
    got = model.inner.backbone["0"][0].weight.detach()
    ref = reference.features[0][0].weight.detach()
    assert got.shape[1] == 4 and torch.allclose(got[:, :3], ref * 0.75) and torch.allclose(got[:, 3], ref.mean(1) * 0.75)
    assert torch.equal(model.inner.backbone["1"].block[0][0].weight, reference.features[1].block[0][0].weight)


@pytest.mark.parametrize("bad", [0, 65, 2.5, True])
def test_invalid_in_channels(bad):
    with pytest.raises(SegstudioError, match="in_channels"):
        create_model("unet", 2, in_channels=bad)
