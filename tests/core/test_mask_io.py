"""Masks: P-mode with palette, 255 = unlabeled, foreign masks only through an explicit mapping."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import UNLABELED_COLOR
from segstudio.core.errors import MaskError, MaskNeedsMappingError
from segstudio.core.mask_io import apply_value_map, parse_value_map, read_mask, write_mask

COLORS = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]


def test_write_is_p_mode_with_class_palette_and_reads_back(tmp_path):
    mask = np.full((20, 30), 255, np.uint8)
    mask[:10, :10] = 1
    mask[10:, 20:] = 2
    mask[0, 29] = 0
    path = write_mask(tmp_path / "m" / "a.png", mask, COLORS)
    with Image.open(path) as img:
        assert img.mode == "P"
        pal = img.getpalette()
        assert pal[3:6] == [255, 0, 0] and pal[6:9] == [0, 255, 0]
        assert tuple(pal[255 * 3 : 256 * 3]) == UNLABELED_COLOR
        # any viewer shows the class colours
        rgb = np.asarray(img.convert("RGB"))
        assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[15, 25]) == (0, 255, 0)
    back = read_mask(path)
    assert back.dtype == np.uint8 and np.array_equal(back, mask)


def test_size_mismatch_names_file_and_sizes(tmp_path):
    path = write_mask(tmp_path / "a.png", np.zeros((20, 30), np.uint8), COLORS)
    with pytest.raises(MaskError) as err:
        read_mask(path, expected_shape=(40, 30))
    msg = str(err.value)
    assert str(path) in msg and "30x20" in msg and "30x40" in msg


def test_binary_0_255_mask_needs_mapping(tmp_path):
    arr = np.zeros((8, 8), np.uint8)
    arr[2:5, 2:5] = 255
    Image.fromarray(arr, "L").save(tmp_path / "bin.png")
    with pytest.raises(MaskNeedsMappingError) as err:
        read_mask(tmp_path / "bin.png", num_classes=2)
    assert "bin.png" in str(err.value) and "255" in str(err.value)
    mask = read_mask(tmp_path / "bin.png", value_map={0: 0, 255: 1})
    assert mask[3, 3] == 1 and mask[0, 0] == 0 and not np.any(mask == 255)


def test_l_mode_index_mask_with_valid_ids_reads_directly(tmp_path):
    arr = np.array([[0, 1], [2, 1]], np.uint8)
    Image.fromarray(arr, "L").save(tmp_path / "idx.png")
    assert np.array_equal(read_mask(tmp_path / "idx.png", num_classes=3), arr)
    with pytest.raises(MaskNeedsMappingError):
        read_mask(tmp_path / "idx.png", num_classes=2)  # 2 is not a class of a 2-class project


def test_16bit_label_image_through_mapping(tmp_path):
    arr = np.array([[0, 1000], [2000, 1000]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "l16.png")
    mask = read_mask(tmp_path / "l16.png", value_map={0: 0, 1000: 1, 2000: 2})
    assert mask.tolist() == [[0, 1], [2, 1]]
    unmapped = read_mask(tmp_path / "l16.png", value_map={0: 0})
    assert unmapped.tolist() == [[0, 255], [255, 255]]  # values not in the map are unlabeled


def test_rgb_image_is_not_a_mask(tmp_path):
    Image.new("RGB", (4, 4), (1, 2, 3)).save(tmp_path / "rgb.png")
    with pytest.raises(MaskError, match="rgb.png"):
        read_mask(tmp_path / "rgb.png")


def test_garbage_mask_file_names_file(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(MaskError, match="junk.png"):
        read_mask(tmp_path / "junk.png")


def test_parse_value_map():
    assert parse_value_map("0:0, 255:1") == {0: 0, 255: 1}
    with pytest.raises(ValueError, match="3-1"):
        parse_value_map("3-1")
    assert apply_value_map(np.array([0, 255, 7], np.uint8), {255: 1}).tolist() == [255, 1, 255]


def test_write_refuses_non_uint8(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_mask(tmp_path / "x.png", np.zeros((3, 3), np.int32), COLORS)
    assert not (tmp_path / "x.png").exists()


def test_mask_map_never_applies_to_segstudio_palette_masks(tmp_path):
    from segstudio.core.project import Project
    from segstudio.engine.data import read_labeled

    project = Project.create(tmp_path / "p", ["bg", "cell", "nucleus"])
    for name in ("own.png", "foreign.png"):
        Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(project.images_dir / name)
    own = np.array([[0, 1, 2, 255, 255, 1]] * 4, np.uint8)  # painted with segstudio: 255 = unlabeled
    project.write_mask("own.png", own)
    foreign = np.array([[0, 255, 0, 255, 0, 255]] * 4, np.uint8)  # another tool: 255 = foreground
    project.masks_dir.mkdir(exist_ok=True)
    Image.fromarray(foreign, "L").save(project.mask_path("foreign.png"))
    value_map = {0: 0, 255: 1}
    assert project.read_mask("own.png", value_map=value_map).tolist() == own.tolist()
    assert project.read_mask("foreign.png", value_map=value_map)[0].tolist() == [0, 1, 0, 1, 0, 1]
    _, mask = read_labeled(project, project.image_path("own.png"), value_map, lambda m: None)  # what training sees
    assert mask.tolist() == own.tolist()
    # a segstudio mask in an import source keeps its classes too (it carries segstudio's marker)
    assert read_mask(project.mask_path("own.png"), value_map=value_map).tolist() == own.tolist()
    voc = tmp_path / "voc.png"  # a palette mask from elsewhere (no marker) is mapped
    img = Image.fromarray(np.array([[0, 1, 255]], np.uint8), "P")
    img.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    img.save(voc)
    assert read_mask(voc, value_map={0: 0, 1: 2}).tolist() == [[0, 2, 255]]
