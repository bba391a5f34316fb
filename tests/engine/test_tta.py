"""Flip test-time augmentation: the mean of the flipped predictions, the same in every prediction path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.core.image_io import load_image
from segstudio.engine.models import create_model
from segstudio.engine.predictor import Predictor
from segstudio.engine.tta import tta_forward

CLASSES = [ClassInfo(0, "background", "#000000"), ClassInfo(1, "a", "#ff0000"), ClassInfo(2, "b", "#00ff00")]
NORM = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


@pytest.fixture
def image(tmp_path) -> np.ndarray:
    """A 64x48 RGB image with structure that is not flip-symmetric, read back through the real loader."""
    rng = np.random.default_rng(3)
    rgb = (rng.random((64, 48, 3)) * 60).astype(np.uint8)
    rgb[5:30, 4:20] += 150
    rgb[40:60, 30:44, 1] = 250
    Image.fromarray(rgb).save(tmp_path / "img.png")
    data = load_image(tmp_path / "img.png").data
    assert not data.flags.writeable
    return data


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    net = create_model("unet", len(CLASSES), width=4, depth=2)
    for p in net.parameters():  # a random net is nearly constant: make its output depend on position
        p.data.normal_(0, 0.5)
    return net.eval()


def _predictor(model, tta: str, tile: int | None = None) -> Predictor:
    return Predictor(model, CLASSES, NORM, torch.device("cpu"), tile=tile, tta=tta)


def test_flip_tta_is_the_mean_of_the_flipped_predictions(model, image):
    plain = _predictor(model, "none")
    views = []
    for flip_y in (False, True):
        for flip_x in (False, True):
            view = image[::-1] if flip_y else image
            view = np.ascontiguousarray(view[:, ::-1] if flip_x else view)
            p = plain.predict_probs(view)
            views.append(p.flip([d for d, f in ((1, flip_y), (2, flip_x)) if f]) if (flip_x or flip_y) else p)
    expected = torch.stack(views).mean(0)
    got = _predictor(model, "flip").predict_probs(image)
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(got, views[0], atol=1e-3)  # the views do differ: the test means something
    two = _predictor(model, "hflip").predict_probs(image)
    assert torch.allclose(two, (views[0] + views[1]) / 2, atol=1e-5)


def test_tiled_streaming_prediction_uses_the_same_tta(model, image):
    pred = _predictor(model, "flip", tile=32)  # 64x48 in 32-px tiles: the streaming path
    probs = pred.predict_probs(image)
    mask = pred.predict(image).mask
    assert pred._tiled(image)
    agree = (probs.argmax(0).numpy() == mask).mean()
    assert agree > 0.999, agree


def test_tta_forward_keeps_logits_semantics_and_refuses_unknown_modes():
    forward = lambda b: torch.stack([b[:, 0], -b[:, 0]], 1)  # noqa: E731
    x = torch.randn(2, 1, 8, 8)
    assert tta_forward(forward, "none") is forward
    out = tta_forward(forward, "flip")(x)
    assert torch.allclose(out.softmax(1).sum(1), torch.ones(2, 8, 8))
    with pytest.raises(SegstudioError, match="unknown test-time augmentation 'rot90'; valid: none, hflip, flip"):
        tta_forward(forward, "rot90")
