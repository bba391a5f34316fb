"""Import and export keep multichannel TIFFs as they are (VOC, which wants JPEG, gets the 8-bit composite)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from segstudio.core.formats import export_annotations, import_annotations
from segstudio.core.image_io import load_image
from segstudio.core.project import Project

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", ["background", "cell"])
    data = np.random.default_rng(0).integers(0, 60000, (4, 30, 40)).astype(np.uint16)
    tifffile.imwrite(project.images_dir / "cells.tif", data, imagej=True, metadata={"axes": "CYX"})
    mask = np.zeros((30, 40), np.uint8)
    mask[5:20, 8:30] = 1
    project.write_mask("cells.tif", mask)
    return project


@pytest.mark.parametrize("fmt", ["coco", "labelme"])
def test_export_references_the_tiff_itself(project, tmp_path, fmt):
    dest = tmp_path / fmt
    export_annotations(fmt, project, dest)
    copies = list(dest.rglob("cells.tif"))
    assert len(copies) == 1 and copies[0].read_bytes() == (project.images_dir / "cells.tif").read_bytes()
    if fmt == "coco":
        doc = json.loads((dest / "annotations.json").read_text())
        assert doc["images"][0]["file_name"].endswith("cells.tif") and doc["images"][0]["width"] == 40
    else:
        doc = json.loads(next(dest.rglob("*.json")).read_text())
        assert doc["imagePath"].endswith("cells.tif") and (doc["imageWidth"], doc["imageHeight"]) == (40, 30)


def test_coco_round_trip_keeps_every_channel(project, tmp_path):
    export_annotations("coco", project, tmp_path / "coco")
    import_annotations("coco", tmp_path / "coco", tmp_path / "again")
    again = Project.open(tmp_path / "again")
    img = load_image(again.image_path("cells.tif"))
    assert img.channels == 4 and img.dtype == np.uint16
    assert np.array_equal(img.data, load_image(project.image_path("cells.tif")).data)
    assert again.read_mask("cells.tif").sum() == project.read_mask("cells.tif").sum()


def test_voc_gets_the_8bit_composite_as_jpeg(project, tmp_path):
    report = export_annotations("voc", project, tmp_path / "voc")
    jpg = next((tmp_path / "voc").rglob("JPEGImages/*.jpg"))
    with Image.open(jpg) as im:
        assert im.mode == "RGB" and im.size == (40, 30)
    assert any("converted to JPEG" in str(w) for w in report.warnings)
