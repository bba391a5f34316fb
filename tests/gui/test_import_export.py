"""File > Import / Export driven like a user: menu action, file dialog, background work, refreshed project."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from segstudio.core.project import Project


def _menu_action(window, menu_attr: str, name: str):
    actions = [a for a in getattr(window, menu_attr).actions() if a.objectName() == name]
    assert actions, f"no action {name}"
    return actions[0]


def _labelme_folder(tmp_path):
    src = tmp_path / "labelme"
    src.mkdir()
    for name in ("new_a", "new_b"):
        Image.new("RGB", (64, 64), (100, 120, 140)).save(src / f"{name}.png")
        doc = {"version": "5.4.1", "flags": {}, "imagePath": f"{name}.png", "imageData": None,
               "imageHeight": 64, "imageWidth": 64,
               "shapes": [{"label": "cell", "points": [[5, 5], [40, 5], [40, 40], [5, 40]], "shape_type": "polygon"},
                          {"label": "spore", "points": [[50, 50], [56, 50]], "shape_type": "circle"}]}
        (src / f"{name}.json").write_text(json.dumps(doc))
    return src


def test_file_import_labelme_adds_masks_and_classes(main_window, qtbot, tmp_path, monkeypatch):
    source = _labelme_folder(tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(source)))
    before = len(main_window.project.list_images())
    action = _menu_action(main_window, "import_menu", "import_labelme")
    assert action.text().startswith("LabelMe")
    with qtbot.waitSignal(main_window.import_export.finished, timeout=20000) as blocker:
        action.trigger()
    report = blocker.args[0]
    assert report.imported == 2 and report.warnings == []
    project = main_window.project
    assert len(project.list_images()) == before + 2
    assert "spore" in project.class_names  # the reopened project shows the new class
    mask = project.read_mask("new_a.png")
    assert mask[20, 20] == project.class_names.index("cell") and mask[50, 53] == project.class_names.index("spore")
    assert mask[60, 5] == 0
    assert not main_window.import_export.busy


def test_file_export_coco_runs_in_background(main_window, qtbot, tmp_path, monkeypatch):
    dest = tmp_path / "coco_out"
    dest.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(dest)))
    with qtbot.waitSignal(main_window.import_export.finished, timeout=20000) as blocker:
        _menu_action(main_window, "export_menu", "export_coco").trigger()
    assert blocker.args[0].exported == 3
    doc = json.loads((dest / "annotations.json").read_text())
    assert len(doc["images"]) == 3 and doc["annotations"]


def test_mask_folder_import_asks_for_a_value_mapping(main_window, qtbot, tmp_path, monkeypatch):
    src = tmp_path / "maskdir"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    Image.new("RGB", (16, 16)).save(src / "images" / "bin.png")
    m = np.zeros((16, 16), np.uint8)
    m[:8] = 255
    Image.fromarray(m, "L").save(src / "masks" / "bin.png")
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(src)))
    monkeypatch.setattr(main_window.questions, "value_map", lambda err, n: asked.append(err.values) or "0:0,255:1")
    with qtbot.waitSignal(main_window.import_export.finished, timeout=20000) as blocker:
        _menu_action(main_window, "import_menu", "import_masks").trigger()
    assert asked == [[0, 255]] and blocker.args[0].imported == 1
    assert Project.open(main_window.project.root).read_mask("bin.png")[:8].max() == 1
