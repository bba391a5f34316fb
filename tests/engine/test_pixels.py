"""Native-depth samples: compact storage on the device, normalisation there, C-channel augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segstudio.core.channels import ChannelSpec
from segstudio.engine.data import AugmentParams, Augmenter, SampleCache, augment_draws, model_input, sample_input
from segstudio.engine.pixels import model_normalization, range_tensor, storage_tensor, to_float, unit_scale

CPU = torch.device("cpu")


def test_uint16_is_stored_as_16_bits_and_read_back_exactly():
    data = np.array([[[0, 1, 32767, 32768, 40000, 65535]]], np.uint16).transpose(0, 2, 1)  # (1, 6, 1)
    t, wrapped = storage_tensor(data)
    assert t.dtype == torch.int16 and wrapped and t.shape == (1, 1, 6)
    assert to_float(t, wrapped).flatten().tolist() == [0, 1, 32767, 32768, 40000, 65535]


@pytest.mark.parametrize("dtype, stored", [(np.uint8, torch.uint8), (np.int16, torch.int16), (np.float32, torch.float32),
                                           (np.float64, torch.float32), (np.uint32, torch.float32)])
def test_storage_types(dtype, stored):
    t, wrapped = storage_tensor(np.ones((4, 5, 3), dtype))
    assert t.dtype == stored and not wrapped and t.shape == (3, 4, 5)


def test_planar_memory_is_not_copied():
    planes = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    t, _ = storage_tensor(planes.transpose(1, 2, 0))
    assert t.data_ptr() == planes.ctypes.data


def test_cache_keeps_16bit_native_and_each_images_range():
    rng = np.random.default_rng(0)
    data = rng.integers(100, 5000, (40, 50, 4)).astype(np.uint16)
    mask = np.zeros((40, 50), np.uint8)
    spec = ChannelSpec.native(4, "uint16")
    cache = SampleCache(CPU, spec)
    cache.set_samples([("a", data, mask, 0.0)])
    s = cache.samples[0]
    assert s.image.dtype == torch.int16 and s.image.shape == (4, 40, 50) and s.wrapped
    assert cache.nbytes == 40 * 50 * (4 * 2 + 1)  # 2 bytes a channel + the mask
    assert s.lohi.shape == (4, 4)
    assert s.lohi[0, 2].item() == pytest.approx(np.percentile(data[..., 2], 1.0))
    x = sample_input(s, CPU, *model_normalization(spec))
    same = model_input(data, spec, CPU, *model_normalization(spec))
    assert x.shape == (1, 4, 40, 50) and torch.equal(x, same)
    u = (data[..., 1].astype(np.float64) - s.lohi[0, 1].item()) / (s.lohi[1, 1].item() - s.lohi[0, 1].item())
    assert torch.allclose(x[0, 1].double(), torch.from_numpy((u - 0.5) / 0.25), atol=1e-4)


def test_fixed_range_is_a_clipped_window():
    spec = ChannelSpec.native(1, "uint16").with_channel(0, normalization="range", low=1000.0, high=2000.0)
    data = np.array([[[0], [1500], [9000]]], np.uint16)
    lohi = range_tensor(spec, data, CPU)
    u = unit_scale(torch.tensor([[[0.0, 1500.0, 9000.0]]]), lohi)
    assert u.flatten().tolist() == [0.0, 0.5, 1.0]


def test_augmenter_native_channels_shape_draws_and_per_channel_gain():
    spec = ChannelSpec.native(5, "uint16")
    data = np.full((30, 30, 5), 1000, np.uint16)
    data[:15] = 3000
    cache = SampleCache(CPU, spec)
    cache.set_samples([("a", data, np.ones((30, 30), np.uint8), 0.0)])
    mean, std = model_normalization(spec)
    aug = Augmenter(AugmentParams(crop=16, scale_range=(1.0, 1.0), flips=False, color_jitter=0.3), CPU, mean, std,
                    native=True)
    assert aug.draws_per_sample == 8 + 5
    draws = augment_draws(0, 0, range(3), aug.draws_per_sample)
    assert torch.equal(draws[:, :8], augment_draws(0, 0, range(3)))  # RGB's draws are unchanged
    x, y = aug.batch(cache, [0, 0, 0], draws)
    assert x.shape == (3, 5, 16, 16) and x.dtype == torch.float32 and y.shape == (3, 16, 16)
    contrast = x.amax(dim=(2, 3)) - x.amin(dim=(2, 3))  # per sample and channel
    assert contrast.std(dim=1).min() > 0  # channels get different gains
    with pytest.raises(ValueError, match="augmentation draws"):
        aug.batch(cache, [0], augment_draws(0, 0, range(1)))
