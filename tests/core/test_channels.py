"""The project's channel description: inferred, stored in segstudio.json, checked on every image."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from segstudio.core.channels import (ChannelSpec, ensure_project_channels, infer_channels, project_channels,
                                     set_project_channels)
from segstudio.core.errors import ChannelMismatchError, ProjectError
from segstudio.core.image_io import load_image
from segstudio.core.project import Project


def _tif(path, c=4, dtype=np.uint16, h=16, w=20):
    arr = (np.arange(c * h * w).reshape(c, h, w) % 5000).astype(dtype)
    tifffile.imwrite(path, arr, photometric="minisblack")
    return path


def test_infer_rgb_for_8bit_photos_native_otherwise(tmp_path):
    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    Image.new("L", (8, 6)).save(tmp_path / "g.png")
    assert infer_channels(load_image(tmp_path / "a.png")).is_rgb
    assert infer_channels(load_image(tmp_path / "g.png")).is_rgb
    spec = infer_channels(load_image(_tif(tmp_path / "c.tif")))
    assert not spec.is_rgb and spec.count == 4 and spec.dtype == "uint16"
    assert spec.names == ["C1", "C2", "C3", "C4"] and spec.colors[:3] == ["#ff0000", "#00ff00", "#0000ff"]
    assert infer_channels(load_image(_tif(tmp_path / "f.tif", c=1, dtype=np.float32))).dtype == "float"


def test_infer_takes_ome_names(tmp_path):
    arr = np.zeros((2, 8, 8), np.uint16)
    tifffile.imwrite(tmp_path / "o.ome.tif", arr, ome=True, metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    assert infer_channels(load_image(tmp_path / "o.ome.tif")).names == ["DAPI", "GFP"]


def test_stored_in_segstudio_json_and_unknown_keys_kept(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "cell"])
    project.config["someone_elses"] = {"x": 1}
    spec = ChannelSpec.native(3, "uint16", ["DAPI", "GFP", "RFP"]).with_channel(1, normalization="range",
                                                                                low=100.0, high=4000.0)
    set_project_channels(project, spec)
    raw = json.loads(project.config_path.read_text())
    assert raw["channels"]["count"] == 3 and raw["channels"]["dtype"] == "uint16"
    assert raw["channels"]["channels"][1] == {"name": "GFP", "color": "#00ff00", "normalization": "range",
                                              "low": 100.0, "high": 4000.0}
    assert raw["someone_elses"] == {"x": 1}
    again = Project.open(project.root)
    assert project_channels(again) == spec


def test_old_project_without_key_is_rgb_and_unchanged(tmp_path):
    project = Project.create(tmp_path / "p")
    Image.new("RGB", (8, 6)).save(project.images_dir / "a.png")
    before = project.config_path.read_bytes()
    assert project_channels(project).is_rgb
    assert ensure_project_channels(project, save=True).is_rgb
    assert "channels" not in project.config and project.config_path.read_bytes() == before


def test_plain_folder_is_inferred_from_its_first_image(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    _tif(folder / "a.tif", c=2)
    project = Project.open(folder)
    spec = ensure_project_channels(project)
    assert spec.count == 2 and project.config["channels"]["count"] == 2
    assert not project.config_path.exists()  # written on the first save only
    ensure_project_channels(project, save=True)
    assert json.loads(project.config_path.read_text())["channels"]["count"] == 2


def test_old_project_whose_images_cannot_be_rgb_is_inferred(tmp_path):
    project = Project.create(tmp_path / "p")
    _tif(project.images_dir / "a.tif", c=4)
    assert ensure_project_channels(project).count == 4


def test_check_refuses_other_count_and_dtype_naming_the_file(tmp_path):
    spec = ChannelSpec.native(4, "uint16")
    spec.check(load_image(_tif(tmp_path / "ok.tif")))
    with pytest.raises(ChannelMismatchError) as err:
        spec.check(load_image(_tif(tmp_path / "three.tif", c=3)))
    msg = str(err.value)
    assert str(tmp_path / "three.tif") in msg and "3 channels" in msg and "4 channels" in msg and "\n" not in msg
    with pytest.raises(ChannelMismatchError, match="uint8"):
        spec.check(load_image(_tif(tmp_path / "u8.tif", dtype=np.uint8)))


def test_rgb_project_refuses_four_channels_instead_of_dropping_one(tmp_path):
    rgb = ChannelSpec.rgb()
    Image.new("I;16", (8, 6)).save(tmp_path / "g16.png")
    assert rgb.model_array(load_image(tmp_path / "g16.png")).shape == (6, 8, 3)  # as before
    with pytest.raises(ChannelMismatchError, match="RGB") as err:
        rgb.model_array(load_image(_tif(tmp_path / "four.tif")))
    assert "four.tif" in str(err.value)


def test_model_array_is_native_data(tmp_path):
    img = load_image(_tif(tmp_path / "a.tif"))
    arr = ChannelSpec.native(4, "uint16").model_array(img)
    assert arr is img.data and arr.dtype == np.uint16


def test_input_range_percentiles_and_fixed():
    rng = np.random.default_rng(0)
    data = np.stack([rng.integers(0, 1000, (50, 60)), np.full((50, 60), 7)], axis=2).astype(np.uint16)
    data[0, 0, 1] = 9  # a nearly constant channel: min..max instead of an empty range
    spec = ChannelSpec.native(2, "uint16")
    lohi = spec.input_range(data)
    assert lohi.shape == (2, 2)
    assert lohi[0, 0] == pytest.approx(np.percentile(data[..., 0], 1.0)) and lohi[1, 0] > 900
    assert tuple(lohi[:, 1]) == (7.0, 9.0)
    fixed = spec.with_channel(0, normalization="range", low=0.0, high=65535.0)
    assert tuple(fixed.input_range(data)[:, 0]) == (0.0, 65535.0)


@pytest.mark.parametrize("bad, msg", [
    ({"kind": "native", "channels": []}, "non-empty"),
    ({"kind": "weird"}, "kind"),
    ({"kind": "native", "dtype": "uint16", "channels": [{"name": "a", "normalization": "log"}]}, "normalization"),
    ({"kind": "native", "dtype": "uint16", "channels": [{"name": "a", "low": 5, "high": 1}]}, "above"),
    ({"kind": "native", "dtype": "uint16", "channels": [{"name": "a"}, {"name": "a"}]}, "unique"),
    ({"kind": "native", "dtype": "uint16", "channels": [{"name": "a", "color": "blue"}]}, "colour"),
    ({"kind": "native", "dtype": "complex", "channels": [{"name": "a"}]}, "dtype"),
    ({"kind": "native", "count": 2, "dtype": "uint16", "channels": [{"name": "a"}]}, "count"),
])
def test_invalid_descriptions_name_the_file(tmp_path, bad, msg):
    project = Project.create(tmp_path / "p")
    project.config["channels"] = bad
    with pytest.raises(ProjectError, match=msg) as err:
        project_channels(project)
    assert "segstudio.json" in str(err.value)


def test_same_input_ignores_names_and_colours_only():
    a = ChannelSpec.native(2, "uint16")
    assert a.same_input(a.with_channel(0, name="DAPI", color="#123456"))
    assert not a.same_input(a.with_channel(1, normalization="range", low=0.0, high=4095.0))
    assert not a.same_input(ChannelSpec.native(2, "float")) and not a.same_input(ChannelSpec.rgb())
