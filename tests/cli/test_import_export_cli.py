"""``segstudio import`` / ``segstudio export``: exit codes, progress lines, warnings naming files."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from segstudio.cli import main
from segstudio.core.demo import generate_demo_project
from segstudio.core.project import Project


def _labelme_source(tmp_path):
    src = tmp_path / "lm"
    src.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (30, 20), (90, 90, 90)).save(src / f"{name}.png")
        doc = {"shapes": [{"label": "leaf", "points": [[2, 2], [20, 2], [20, 15]], "shape_type": "polygon"}],
               "imagePath": f"{name}.png", "imageData": None}
        (src / f"{name}.json").write_text(json.dumps(doc))
    (src / "bad.json").write_text("{oops")
    return src


def test_import_labelme_warns_and_exits_zero(tmp_path, capsys):
    src = _labelme_source(tmp_path)
    assert main(["import", "labelme", str(src), str(tmp_path / "proj")]) == 0
    out, err = capsys.readouterr()
    assert "import 3/3" in out and "imported 2 mask(s)" in out
    assert "segstudio: warning:" in err and "bad.json: not valid JSON" in err
    project = Project.open(tmp_path / "proj")
    assert project.class_names == ["background", "leaf"] and len(project.labeled_images()) == 2

    # again: nothing is overwritten without --overwrite, and nothing imported means exit 2
    assert main(["import", "labelme", str(src), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert "already has a mask for a.png" in err and "nothing could be imported" in err
    assert main(["import", "labelme", str(src), str(tmp_path / "proj"), "--overwrite"]) == 0


def test_import_invalid_input_exits_two(tmp_path, capsys):
    assert main(["import", "coco", str(tmp_path / "nowhere"), str(tmp_path / "p")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    assert main(["import", "masks", str(tmp_path), str(tmp_path / "p"), "--mask-map", "0-1"]) == 2
    assert "--mask-map: invalid mapping entry '0-1'" in capsys.readouterr().err
    assert main(["import", "tiff", str(tmp_path), str(tmp_path / "p")]) == 2
    assert "invalid choice: 'tiff'" in capsys.readouterr().err


def test_mask_folder_with_mapping(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    Image.new("RGB", (8, 6)).save(src / "images" / "x.png")
    mask = np.zeros((6, 8), np.uint8)
    mask[:, 4:] = 255
    Image.fromarray(mask, "L").save(src / "masks" / "x.png")
    assert main(["import", "masks", str(src), str(tmp_path / "p")]) == 2
    assert "--mask-map" in capsys.readouterr().err
    assert main(["import", "masks", str(src), str(tmp_path / "p"), "--mask-map", "0:0,255:1",
                 "--classes", "background,fg"]) == 0
    project = Project.open(tmp_path / "p")
    assert project.class_names == ["background", "fg"]
    assert project.read_mask("x.png")[:, 4:].tolist() == [[1] * 4] * 6


def test_export_each_format(tmp_path, capsys):
    root = tmp_path / "demo"
    generate_demo_project(root, n_images=4, labeled=2, size=(48, 48))
    for fmt in ("labelme", "coco", "voc", "yolo"):
        assert main(["export", fmt, str(root), str(tmp_path / fmt)]) == 0, capsys.readouterr().err
        assert f"exported 2 image(s) as {fmt}" in capsys.readouterr().out
    assert (tmp_path / "coco" / "annotations.json").is_file()
    assert (tmp_path / "yolo" / "data.yaml").is_file()
    assert (tmp_path / "voc" / "VOCdevkit" / "VOC2012" / "SegmentationClass" / "sample_01.png").is_file()
    assert main(["export", "coco", str(root), str(tmp_path / "coco")]) == 2
    assert "already holds an export" in capsys.readouterr().err
    assert main(["export", "yolo", str(root), str(tmp_path / "yolo"), "--overwrite", "--classes", "cell"]) == 0
    assert "nc: 1" in (tmp_path / "yolo" / "data.yaml").read_text()
    assert main(["export", "coco", str(root), str(tmp_path / "c2"), "--classes", "nope"]) == 2
    assert "no class named 'nope'" in capsys.readouterr().err
