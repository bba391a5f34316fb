"""TIFF layouts through the one loader: planar, interleaved, multi-page, ImageJ, OME, 8/16/32-bit and float."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from segstudio.core.errors import ImageLoadError, ImageTooLargeError
from segstudio.core.image_io import load_image, read_image_size
from segstudio.core.tiff_io import MAX_CHANNELS


def _stack(c: int = 4, h: int = 24, w: int = 40, dtype=np.uint16) -> np.ndarray:
    """(C, H, W) with a different, recognisable value pattern in every channel."""
    yy, xx = np.mgrid[0:h, 0:w]
    planes = [(yy * w + xx) * (k + 1) + 1000 * k for k in range(c)]
    arr = np.stack(planes).astype(np.float64)
    if np.dtype(dtype).kind == "f":
        return (arr / 7.0).astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(arr, info.min, info.max).astype(dtype)


def assert_loaded_as(img, expected_chw: np.ndarray) -> None:
    expected = expected_chw.transpose(1, 2, 0)
    assert img.data.shape == expected.shape and img.data.dtype == expected.dtype
    assert np.array_equal(img.data, expected)
    assert not img.data.flags.writeable
    assert img.channels == expected.shape[2] and img.shape == expected.shape[:2]
    assert np.array_equal(img.planes, expected_chw)
    assert img.rgb.shape == expected.shape[:2] + (3,) and img.rgb.dtype == np.uint8
    y, x = 5, 7
    assert img.raw_value(x, y) == tuple(expected[y, x].tolist())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.int32, np.float32, np.float16, np.float64])
def test_planar_cyx_every_depth(tmp_path, dtype):
    arr = _stack(4, dtype=dtype)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, arr, photometric="minisblack", planarconfig="separate")
    assert_loaded_as(load_image(path), arr)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_interleaved_yxc(tmp_path, dtype):
    arr = _stack(5, dtype=dtype)
    path = tmp_path / "inter.tiff"
    tifffile.imwrite(path, arr.transpose(1, 2, 0), photometric="minisblack", planarconfig="contig")
    assert_loaded_as(load_image(path), arr)


@pytest.mark.filterwarnings("ignore:.*stored as RGB with separate component planes:DeprecationWarning")
def test_tifffile_default_write_keeps_the_fourth_channel(tmp_path):
    # imwrite of a (4, Y, X) uint16 array marks the 4th sample as alpha: it is still a channel
    arr = _stack(4)
    tifffile.imwrite(tmp_path / "a.tif", arr)
    assert_loaded_as(load_image(tmp_path / "a.tif"), arr)


def test_8bit_rgba_tiff_drops_alpha_like_png(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 1] = 200
    rgba[..., 3] = 77
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    img = load_image(tmp_path / "rgba.tif")
    assert img.channels == 3 and tuple(img.rgb[0, 0]) == (0, 200, 0)
    assert img.raw_value(0, 0) == (0, 200, 0, 77)


def test_multi_page_pages_are_channels(tmp_path):
    arr = _stack(3, dtype=np.float32)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tw:  # one series per page
        for plane in arr:
            tw.write(plane)
    assert_loaded_as(load_image(tmp_path / "pages.tif"), arr)
    with tifffile.TiffWriter(tmp_path / "generic.tif") as tw:  # no metadata: a generic page sequence
        for plane in arr:
            tw.write(plane, metadata=None)
    assert_loaded_as(load_image(tmp_path / "generic.tif"), arr)


def test_imagej_hyperstack_channels(tmp_path):
    arr = _stack(4)
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, arr, imagej=True, metadata={"axes": "CYX"})
    img = load_image(path)
    assert_loaded_as(img, arr)
    assert img.notes == ()


def test_imagej_tzcyx_takes_first_plane_with_a_note(tmp_path):
    t, z, c, h, w = 2, 3, 4, 16, 20
    arr = np.arange(t * z * c * h * w, dtype=np.uint16).reshape(t, z, c, h, w)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, arr, imagej=True, metadata={"axes": "TZCYX"})
    img = load_image(path)
    assert_loaded_as(img, arr[0, 0])
    assert len(img.notes) == 1 and "T=2" in img.notes[0] and "Z=3" in img.notes[0] and "first plane" in img.notes[0]


def test_ome_tiff_channels_and_names(tmp_path):
    arr = _stack(4)
    path = tmp_path / "cells.ome.tif"
    tifffile.imwrite(path, arr, ome=True, metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP", "RFP", "Cy5"]}})
    img = load_image(path)
    assert_loaded_as(img, arr)
    assert img.channel_names == ("DAPI", "GFP", "RFP", "Cy5")


def test_ome_tiff_zcyx(tmp_path):
    arr = np.stack([_stack(2, 16, 16) + z for z in range(3)])  # (Z, C, Y, X)
    path = tmp_path / "z.ome.tif"
    tifffile.imwrite(path, arr, ome=True, metadata={"axes": "ZCYX"})
    img = load_image(path)
    assert_loaded_as(img, arr[0])
    assert "Z=3" in img.notes[0]


def test_single_channel_16bit_and_float_keep_values(tmp_path):
    arr = _stack(1, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "g.tif", arr[0])
    img = load_image(tmp_path / "g.tif")
    assert_loaded_as(img, arr)
    assert img.raw.shape == arr.shape[1:]  # one channel: raw stays (H, W) as before
    f = _stack(1, dtype=np.float32)[0]
    f[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", f)
    img = load_image(tmp_path / "f.tif")
    assert img.data.dtype == np.float32 and np.isnan(img.data[0, 0, 0]) and img.data[3, 3, 0] == f[3, 3]


def test_rgb_8bit_tiff_is_the_image(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    img = load_image(tmp_path / "rgb.tif")
    assert np.array_equal(img.rgb, rgb) and np.array_equal(img.data, rgb)


def test_compressed_tiffs(tmp_path):
    arr = _stack(3)
    for comp in ("zlib", "lzw", "zstd"):
        path = tmp_path / f"{comp}.tif"
        tifffile.imwrite(path, arr, photometric="minisblack", compression=comp)
        assert_loaded_as(load_image(path), arr)


def test_orientation_tag_applied(tmp_path):
    arr = _stack(2, 10, 16)
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, arr, photometric="minisblack", planarconfig="separate", extratags=[(274, 3, 1, 6, True)])
    img = load_image(path)
    assert img.shape == (16, 10) and read_image_size(path) == (10, 16)
    assert np.array_equal(img.data, np.rot90(arr.transpose(1, 2, 0), k=-1))


def test_read_image_size_of_multichannel_tiff_from_header(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _stack(4, 30, 50), imagej=True, metadata={"axes": "CYX"})
    assert read_image_size(tmp_path / "a.tif") == (50, 30)


def test_truncated_tiff_names_file(tmp_path):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, _stack(4, 64, 64), photometric="minisblack")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert str(path) in str(err.value) and ("truncated" in str(err.value) or "damaged" in str(err.value))


def test_truncated_multipage_compressed_tiff_is_an_error_not_fewer_channels(tmp_path):
    path = tmp_path / "cutz.tif"
    tifffile.imwrite(path, _stack(4, 64, 64), photometric="minisblack", compression="zlib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated or damaged") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_garbage_named_tif(tmp_path):
    path = tmp_path / "junk.tif"
    path.write_bytes(b"II*\x00" + b"\xff" * 50)
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_bomb_check_before_reading_pixels(tmp_path, monkeypatch):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((3, 1000, 1500), np.uint16), photometric="minisblack")
    import tifffile as tf

    def no_read(*a, **k):
        raise AssertionError("pixel data read before the size check")

    monkeypatch.setattr(tf.TiffFile, "asarray", no_read)
    with pytest.raises(ImageTooLargeError) as err:
        load_image(path, max_pixels=1_000_000)
    assert str(path) in str(err.value) and err.value.pixels == 1_500_000


def test_too_many_channels_refused(tmp_path):
    path = tmp_path / "many.tif"
    tifffile.imwrite(path, np.zeros((MAX_CHANNELS + 1, 8, 8), np.uint8), photometric="minisblack")
    with pytest.raises(ImageLoadError, match=f"{MAX_CHANNELS + 1} channels") as err:
        load_image(path)
    assert str(path) in str(err.value)
