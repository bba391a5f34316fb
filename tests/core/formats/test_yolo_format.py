"""YOLO segmentation export: normalised polygons per region, data.yaml without PyYAML."""

from __future__ import annotations

import cv2
import numpy as np

from segstudio.core.formats import export_annotations
from segstudio.core.formats.yolo import mask_to_yolo_lines
from segstudio.core.project import Project


def test_export_layout_and_polygons_fill_back_to_the_masks(demo_project, tmp_path):
    src = Project.open(demo_project)
    report = export_annotations("yolo", src, tmp_path / "yolo")
    assert report.exported == 3
    yaml = (tmp_path / "yolo" / "data.yaml").read_text()
    assert "train: images/train" in yaml and "nc: 3" in yaml
    assert '  0: "cell"' in yaml and '  2: "fibre"' in yaml
    for image in src.labeled_images():
        label = tmp_path / "yolo" / "labels" / "train" / f"{image.stem}.txt"
        assert (tmp_path / "yolo" / "images" / "train" / image.name).is_file()
        mask = src.read_mask(image)
        rebuilt = np.zeros_like(mask)
        for line in label.read_text().splitlines():
            cls, *coords = line.split()
            pts = np.array(coords, float).reshape(-1, 2)
            assert (pts >= 0).all() and (pts <= 1).all()
            cv2.fillPoly(rebuilt, [np.round(pts * [64, 64]).astype(np.int32)], int(cls) + 1)
        assert (rebuilt == mask).mean() > 0.98


def test_one_line_per_region_and_class_subset():
    mask = np.zeros((20, 20), np.uint8)
    mask[2:5, 2:5] = 1
    mask[10:15, 10:15] = 1
    mask[17, 17] = 2
    lines = mask_to_yolo_lines(mask, {1: 0, 2: 1})
    assert sorted(line.split()[0] for line in lines) == ["0", "0", "1"]
    assert all(len(line.split()) >= 7 for line in lines)
    assert [line.split()[0] for line in mask_to_yolo_lines(mask, {2: 0})] == ["0"]
