"""The one image loader: formats, orientation, normalisation, and bad input naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import ImageLoadError, ImageTooLargeError
from segstudio.core.image_io import load_image, normalize_to_uint8, read_image_size


def _gradient(h: int = 40, w: int = 60) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 4 % 256, yy * 6 % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


def test_rgb_png_round_trip(tmp_path):
    arr = _gradient()
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.rgb.dtype == np.uint8 and img.rgb.shape == (40, 60, 3)
    assert np.array_equal(img.rgb, arr)
    assert img.shape == (40, 60) and img.mode == "RGB"


def test_truncated_png_names_file(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(_gradient(200, 200)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert str(path) in str(err.value)
    assert "truncated" in str(err.value) or "damaged" in str(err.value) or "cannot read" in str(err.value)


def test_truncated_jpeg_names_file(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(_gradient(300, 300)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert str(path) in str(err.value)
    assert "truncated" in str(err.value)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert str(path) in str(err.value) and "not an image" in str(err.value)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty") as err:
        load_image(path)
    assert err.value.path == path


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError) as err:
        load_image(tmp_path / "nope.png")
    assert "nope.png" in str(err.value)


def test_16bit_grayscale_tiff_percentile_normalised_raw_kept(tmp_path):
    raw = (np.arange(64 * 32, dtype=np.uint32).reshape(32, 64) * 20 + 1000).astype(np.uint16)
    path = tmp_path / "deep.tif"
    Image.fromarray(raw).save(path)
    img = load_image(path)
    assert img.rgb.shape == (32, 64, 3) and img.rgb.dtype == np.uint8
    assert img.raw.dtype == np.uint16 and int(img.raw[5, 7]) == int(raw[5, 7])
    assert img.raw_value(7, 5) == (int(raw[5, 7]),)
    # percentile stretch: dark corner near 0, bright corner near 255, monotonic
    assert img.rgb[0, 0, 0] <= 2 and img.rgb[-1, -1, 0] >= 253
    assert np.all(np.diff(img.rgb[:, :, 0].ravel().astype(int)) >= 0)


def test_float32_tiff(tmp_path):
    raw = np.linspace(-1.5, 3.0, 50 * 40, dtype=np.float32).reshape(40, 50)
    raw[0, 0] = np.nan
    path = tmp_path / "float.tiff"
    Image.fromarray(raw, mode="F").save(path)
    img = load_image(path)
    assert img.rgb.shape == (40, 50, 3)
    assert img.raw.dtype == np.float32 and img.raw[10, 10] == pytest.approx(raw[10, 10])
    assert img.rgb[-1, -1, 0] >= 250 and img.rgb[1, 0, 0] <= 5


def test_16bit_rgb_tiff_written_by_opencv_keeps_its_values(tmp_path):
    import cv2

    raw = np.zeros((20, 30, 3), np.uint16)
    raw[:, :, 0] = 60000  # red in RGB order
    path = tmp_path / "rgb16.tif"
    cv2.imwrite(str(path), raw[:, :, ::-1])  # OpenCV writes BGR
    img = load_image(path)
    assert img.rgb.shape == (20, 30, 3)
    assert img.raw.dtype == np.uint16 and tuple(img.raw[0, 0]) == (60000, 0, 0)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 16), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    img = load_image(path)
    assert img.mode == "CMYK" and img.rgb.shape == (16, 32, 3)
    r, g, b = img.rgb[8, 16].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_exif_rotated_jpeg_is_shown_upright(tmp_path):
    # stored 60 wide x 40 high; EXIF orientation 6 = rotate 90 clockwise for display
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[0:5, 0:5] = (255, 0, 0)  # red block at the stored top-left
    img = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes(), quality=100)
    loaded = load_image(path)
    assert loaded.shape == (60, 40)  # displayed: 40 wide, 60 high
    assert read_image_size(path) == (40, 60)
    # after a 90 degree clockwise turn, the stored top-left goes to the top-right
    assert loaded.rgb[2, 37, 0] > 200 and loaded.rgb[2, 2, 0] < 50


def test_exif_rotated_image_aligns_with_its_mask(tmp_path):
    from segstudio.core.project import Project

    project = Project.create(tmp_path / "p", ["bg", "thing"])
    stored = np.zeros((40, 60, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(stored).save(project.images_dir / "r.jpg", exif=exif.tobytes())
    image = load_image(project.images_dir / "r.jpg")
    mask = np.zeros(image.shape, np.uint8)
    mask[0:3, :] = 1
    project.write_mask("r.jpg", mask)
    # the mask is stored in display orientation and reads back against the displayed size
    back = project.read_mask("r.jpg", expected_shape=image.shape)
    assert back.shape == (60, 40) and np.array_equal(back, mask)


def test_rgba_and_palette_images(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 1] = 200
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.rgb.shape == (10, 12, 3) and img.rgb[0, 0, 1] == 200
    assert img.raw.shape == (10, 12, 4)

    pal = Image.new("P", (12, 10), 3)
    pal.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 250, 10, 5] + [0] * (768 - 12))
    pal.save(tmp_path / "p.png")
    img = load_image(tmp_path / "p.png")
    assert tuple(img.rgb[0, 0]) == (250, 10, 5)
    assert img.raw_value(0, 0) == (3,)


def test_grayscale_and_bilevel(tmp_path):
    Image.new("L", (8, 6), 77).save(tmp_path / "g.png")
    Image.new("1", (8, 6), 1).save(tmp_path / "b.png")
    g = load_image(tmp_path / "g.png")
    b = load_image(tmp_path / "b.png")
    assert tuple(g.rgb[0, 0]) == (77, 77, 77)
    assert tuple(b.rgb[0, 0]) == (255, 255, 255)


def test_decompression_bomb_refused_with_clear_message(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (2000, 1500)).save(path)
    with pytest.raises(ImageTooLargeError) as err:
        load_image(path, max_pixels=1_000_000)
    msg = str(err.value)
    assert str(path) in msg and "3,000,000" in msg and "limit" in msg
    assert err.value.pixels == 3_000_000
    # with the limit lifted (the GUI asks first) it loads
    assert load_image(path, max_pixels=None).shape == (1500, 2000)


def test_unicode_and_spaces_in_path(tmp_path):
    folder = tmp_path / "Zellkulturen – été 2026" / "Bild Nr 1"
    folder.mkdir(parents=True)
    path = folder / "Probe ü 1.png"
    Image.fromarray(_gradient()).save(path)
    assert load_image(path).shape == (40, 60)


def test_normalize_constant_image_does_not_divide_by_zero():
    out = normalize_to_uint8(np.full((4, 4), 7.0, np.float32))
    assert out.dtype == np.uint8 and np.all(out == 0)
