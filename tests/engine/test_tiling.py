"""Tiled inference: grid coverage, exact blending, equivalence with a full-image forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from segstudio.engine.tiling import (axis_tiles, axis_weights, iter_tiled_bands, predict_tiled, predict_tiled_mask,
                                     tile_grid)


class ConstantModel(nn.Module):
    """Same logits everywhere, whatever the input."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.register_buffer("logits", torch.tensor(logits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        return self.logits.view(1, -1, 1, 1).expand(b, -1, h, w).clone()


def _conv_model(num_classes: int, layers: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    ch = 3
    for _ in range(layers - 1):
        mods += [nn.Conv2d(ch, 8, 3, padding=1), nn.ReLU()]
        ch = 8
    mods.append(nn.Conv2d(ch, num_classes, 3, padding=1))
    return nn.Sequential(*mods).eval()


@pytest.mark.parametrize("length,tile,overlap", [(1000, 256, 0.25), (257, 256, 0.5), (4096, 512, 0.25),
                                                 (300, 128, 0.0), (100, 512, 0.25), (7, 64, 0.25)])
def test_axis_tiles_cover_the_axis_with_positive_weights(length, tile, overlap):
    axis = axis_tiles(length, tile, overlap)
    assert axis.starts[0] == 0
    assert axis.starts[-1] + axis.tile == axis.padded >= length
    assert axis.tile % 32 == 0 or axis.tile == tile
    gaps = [b - a for a, b in zip(axis.starts, axis.starts[1:])]
    assert all(0 < g <= tile - int(round(tile * overlap)) for g in gaps)
    total = torch.zeros(axis.padded, dtype=torch.float64)
    for s, w in zip(axis.starts, axis_weights(axis, overlap)):
        total[s:s + axis.tile] += w
    assert float(total[:length].min()) > 0.05


def test_constant_model_gives_uniform_probabilities():
    logits = [0.3, -1.0, 2.0, 0.0]
    expected = torch.softmax(torch.tensor(logits), 0)
    image = torch.randn(3, 301, 517)
    probs = predict_tiled(ConstantModel(logits), image, 4, tile=128, overlap=0.25, batch_size=3)
    assert probs.shape == (4, 301, 517) and probs.dtype == torch.float32
    assert torch.allclose(probs, expected.view(4, 1, 1).expand_as(probs), atol=1e-6, rtol=0)
    assert torch.allclose(probs.sum(0), torch.ones(301, 517), atol=1e-6)


def test_single_conv_layer_matches_full_image_exactly():
    # receptive field 3x3: a tile's only wrong pixels are its outermost ring, which the
    # window gives zero weight wherever a neighbour overlaps, so the blend is exact
    model = _conv_model(3, layers=1)
    image = torch.randn(3, 333, 290)
    with torch.no_grad():
        full = torch.softmax(model(image[None]), 1)[0]
    tiled = predict_tiled(model, image, 3, tile=96, overlap=0.25, batch_size=4)
    assert len(tile_grid(333, 290, 96, 0.25)) > 9
    assert torch.allclose(tiled, full, atol=1e-5)


def test_deeper_translation_equivariant_model_close_to_full_image():
    model = _conv_model(4, layers=4)  # receptive radius 4 px
    image = torch.randn(3, 200, 260)
    with torch.no_grad():
        full = torch.softmax(model(image[None]), 1)[0]
    tiled = predict_tiled(model, image, 4, tile=64, overlap=0.25, batch_size=8)
    diff = (tiled - full).abs()
    assert float(diff.mean()) < 1e-3
    assert float(diff.max()) < 0.05
    assert (tiled.argmax(0) == full.argmax(0)).float().mean() > 0.995


@pytest.mark.parametrize("h,w", [(37, 53), (1, 1), (64, 64), (65, 200), (300, 31)])
def test_odd_and_small_sizes(h, w):
    model = _conv_model(2, layers=2)
    image = torch.randn(3, h, w)
    probs = predict_tiled(model, image, 2, tile=64, overlap=0.25, batch_size=2)
    assert probs.shape == (2, h, w)
    assert torch.isfinite(probs).all()
    assert torch.allclose(probs.sum(0), torch.ones(h, w), atol=1e-5)


def test_image_smaller_than_tile_is_padded_and_cropped_back_in_the_interior():
    model = _conv_model(3, layers=2)
    image = torch.randn(3, 40, 50)
    with torch.no_grad():
        full = torch.softmax(model(image[None]), 1)[0]
    calls = []

    def forward(batch):
        calls.append(tuple(batch.shape))
        return model(batch)

    probs = predict_tiled(forward, image, 3, tile=256, overlap=0.25)
    assert calls == [(1, 3, 64, 64)]  # padded to a multiple of 32, not to the full tile
    # away from the padded bottom/right border the result is the full-image forward
    assert torch.allclose(probs[:, :-2, :-2], full[:, :-2, :-2], atol=1e-5)


def test_tiles_are_batched():
    model = _conv_model(2, layers=1)
    sizes = []

    def forward(batch):
        sizes.append(batch.shape[0])
        return model(batch)

    grid = tile_grid(500, 500, 128, 0.25)
    predict_tiled(forward, torch.randn(3, 500, 500), 2, tile=128, overlap=0.25, batch_size=5)
    assert sum(sizes) == len(grid)
    assert max(sizes) == 5 and len(sizes) == -(-len(grid) // 5)


def test_float16_accumulator_close_to_float32():
    model = _conv_model(3, layers=2)
    image = torch.randn(3, 150, 170)
    p32 = predict_tiled(model, image, 3, tile=64, overlap=0.25)
    p16 = predict_tiled(model, image, 3, tile=64, overlap=0.25, out_dtype=torch.float16)
    assert p16.dtype == torch.float16
    assert float((p16.float() - p32).abs().max()) < 5e-3


def test_wrong_model_output_shape_is_reported():
    with pytest.raises(ValueError, match="model returned shape"):
        predict_tiled(lambda b: b[:, :2, ::2, ::2], torch.randn(3, 64, 64), 2, tile=64)



@pytest.mark.parametrize("h,w,batch", [(333, 290, 4), (40, 50, 8), (257, 700, 5)])
def test_streamed_bands_equal_the_full_map(h, w, batch):
    model = _conv_model(3, layers=3)
    image = torch.randn(3, h, w)
    full = predict_tiled(model, image, 3, tile=96, overlap=0.25, batch_size=batch)
    bands = list(iter_tiled_bands(model, image, 3, tile=96, overlap=0.25, batch_size=batch))
    assert bands[0][0] == 0 and bands[-1][1] == h
    assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))  # contiguous, each row once
    assert all(y1 - y0 <= 96 for y0, y1, _ in bands)  # only about a row of tiles at a time
    assert torch.allclose(torch.cat([p for _, _, p in bands], dim=1), full, atol=1e-6)


def test_predict_tiled_mask_matches_argmax_of_the_full_map():
    model = _conv_model(4, layers=2)
    image = torch.randn(3, 300, 210)
    full = predict_tiled(model, image, 4, tile=64, overlap=0.25)
    mask, conf, entropy = predict_tiled_mask(model, image, 4, tile=64, overlap=0.25)
    assert mask.dtype == np.uint8 and conf.dtype == np.float32 and mask.shape == (300, 210)
    assert (mask == full.argmax(0).numpy()).all()
    assert np.allclose(conf, full.max(0).values.numpy(), atol=1e-6)
    expected = float(-(full * full.clamp(min=1e-8).log()).sum(0).mean())
    assert entropy == pytest.approx(expected, rel=1e-5)


@pytest.mark.cuda
def test_cuda_matches_cpu():
    model = _conv_model(3, layers=3)
    image = torch.randn(3, 700, 900)
    cpu = predict_tiled(model, image, 3, tile=256, overlap=0.25, batch_size=4)
    gpu = predict_tiled(model.cuda(), image.cuda(), 3, tile=256, overlap=0.25, batch_size=4)
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, atol=5e-3)  # cuDNN may use TF32 convolutions
