"""The Qt-free display composite: identity for RGB, colours and limits per channel, regions, speed."""

from __future__ import annotations


import numpy as np
import pytest
import tifffile

from segstudio.core.display import (ChannelDisplay, Compositor, DisplaySettings, auto_limits, composite,
                                    default_display)
from segstudio.core.image_io import load_image


def test_rgb_image_composites_to_itself(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert np.array_equal(composite(img.data, default_display(img.data)), rgb)


def test_four_channel_16bit_expected_pixels(tmp_path):
    data = np.zeros((4, 2, 3), np.uint16)
    data[0, 0, 0] = 1000  # red channel at its upper limit -> 255 red
    data[1, 0, 1] = 600   # green, halfway between 200 and 1000 -> 128 green
    data[3, 0, 2] = 5000  # white channel saturates -> (255, 255, 255)
    data[0, 1, 0] = 1000
    data[3, 1, 0] = 550   # red + half white -> red saturates, g/b half
    data[2, 1, 1] = 100   # blue below its lower limit -> black
    data[1, 1, 2] = 200   # gamma 2 on green at the low limit -> 0
    path = tmp_path / "four.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    img = load_image(path)
    settings = DisplaySettings((
        ChannelDisplay("#ff0000", True, 0, 1000),
        ChannelDisplay("#00ff00", True, 200, 1000),
        ChannelDisplay("#0000ff", True, 500, 2000),
        ChannelDisplay("#ffffff", True, 100, 1000),
    ))
    out = composite(img.data, settings)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == (0, 128, 0)
    assert tuple(out[0, 2]) == (255, 255, 255)
    assert tuple(out[1, 0]) == (255, 128, 128)
    assert tuple(out[1, 1]) == (0, 0, 0)
    gamma = settings.with_channel(1, gamma=2.0, lo=0, hi=400)
    assert tuple(composite(img.data, gamma)[1, 2]) == (0, round(255 * 0.25), 0)  # (200/400)**2
    hidden = settings.with_channel(0, visible=False)
    assert tuple(composite(img.data, hidden)[0, 0]) == (0, 0, 0)


def test_single_channel_view_is_gray():
    data = np.zeros((1, 2, 2), np.uint16).repeat(3, axis=0).transpose(1, 2, 0).copy()
    data[0, 0] = (100, 400, 900)
    s = DisplaySettings(tuple(ChannelDisplay(c, True, 0, 800) for c in ("#ff0000", "#00ff00", "#0000ff"))).solo(1)
    assert s.visible == [1]
    assert tuple(composite(data, s)[0, 0]) == (128, 128, 128)


def test_region_equals_crop_of_full_rendering():
    rng = np.random.default_rng(1)
    data = rng.integers(0, 65535, (5, 90, 130), dtype=np.uint16).transpose(1, 2, 0)  # planar memory
    settings = default_display(data)
    full = composite(data, settings)
    region = (17, 9, 111, 77)
    assert np.array_equal(composite(data, settings, region), full[9:77, 17:111])
    comp = Compositor(data, settings)
    assert np.array_equal(comp.render(region), full[9:77, 17:111])
    rgbx = comp.render_rgbx(region)
    assert np.array_equal(rgbx[..., :3], full[9:77, 17:111]) and np.all(rgbx[..., 3] == 255)
    assert comp.render((120, 80, 500, 500)).shape == (10, 10, 3)  # clipped to the image


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.int32])
def test_other_dtypes(dtype):
    data = np.array([[[-5, 0, 5, 10, 20]]], dtype=np.float64).transpose(0, 2, 1).repeat(2, axis=0)  # (2, 5, 1)
    if np.dtype(dtype) == np.uint8:
        data = data + 5
    data = data.astype(dtype)
    lo, hi = float(data.min()), float(data.max())
    s = DisplaySettings((ChannelDisplay("#ffffff", True, lo, hi),))
    out = composite(data, s)[0, :, 0].astype(int)
    expected = np.rint((data[0, :, 0].astype(float) - lo) / (hi - lo) * 255)
    assert np.all(np.abs(out - expected) <= 1)


def test_auto_limits_are_percentiles():
    data = np.arange(10000, dtype=np.uint16).reshape(100, 100, 1)
    lo, hi = auto_limits(data, 0)
    assert lo == pytest.approx(np.percentile(data, 0.5)) and hi == pytest.approx(np.percentile(data, 99.5))


def test_contrast_change_rerenders_only_the_viewport_region_of_a_huge_image():
    """A contrast change re-renders the viewport's region alone, exactly as a render of that crop would be
    (time is measured in benchmarks/display_latency.py, not here)."""
    rng = np.random.default_rng(2)
    planes = rng.integers(0, 65535, (4, 4096, 4096), dtype=np.uint16)
    data = planes.transpose(1, 2, 0)
    settings = DisplaySettings(tuple(ChannelDisplay(c, True, 1000, 60000)
                                     for c in ("#ff0000", "#00ff00", "#0000ff", "#ffffff")))
    comp = Compositor(data, settings)
    region = (1000, 1500, 2500, 2500)  # 1500 x 1000
    before = comp.render(region)
    changed = settings.with_channel(3, hi=20000)
    comp.set_settings(changed)
    after = comp.render(region)
    assert after.shape == (1000, 1500, 3)
    crop = np.ascontiguousarray(data[1500:2500, 1000:2500])
    np.testing.assert_array_equal(after, Compositor(crop, changed).render())
    assert (after.astype(int) - before.astype(int)).sum() > 0  # brighter white channel
