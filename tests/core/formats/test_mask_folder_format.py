"""Plain mask folders: binary 0/255 needs a mapping (255 is never taken as unlabeled silently)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from segstudio.core.formats import ImportOptions
from segstudio.core.formats.mask_folder import import_mask_folder
from segstudio.core.project import Project

from format_helpers import save_image


def _folder(tmp_path, values):
    src = tmp_path / "src"
    for i in range(2):
        save_image(src / "images" / f"im{i}.png", 20, 10)
        m = np.zeros((10, 20), np.uint8)
        m[:, 10:] = values[1]
        m[0, 0] = values[-1]
        (src / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(m, "L").save(src / "masks" / f"im{i}.png")
    save_image(src / "images" / "nomask.png", 20, 10)
    return src


def test_binary_masks_need_a_mapping(tmp_path):
    src = _folder(tmp_path, [0, 255])
    report = import_mask_folder(src, tmp_path / "p")
    assert report.imported == 0
    assert any("im0.png" in w and "--mask-map" in w for w in report.warnings)
    mapped = import_mask_folder(src, tmp_path / "p", ImportOptions(value_map={0: 0, 255: 1}))
    assert mapped.imported == 2
    p = Project.open(tmp_path / "p")
    mask = p.read_mask("im0.png")
    assert mask[5, 15] == 1 and mask[5, 5] == 0 and not (mask == 255).any()
    assert p.has_mask("im1.png") and not p.has_mask("nomask.png") and (p.images_dir / "nomask.png").is_file()


def test_index_masks_add_classes_in_a_new_project(tmp_path):
    src = _folder(tmp_path, [0, 1, 3])
    report = import_mask_folder(src, tmp_path / "p", ImportOptions(classes=["bg", "a"]))
    assert report.imported == 0  # 3 is not a class of ["bg", "a"]: needs a mapping
    report = import_mask_folder(tmp_path / "src", tmp_path / "q")
    assert report.imported == 2 and report.classes_added == ["class_1", "class_2", "class_3"]
    q = Project.open(tmp_path / "q")
    assert q.read_mask("im1.png")[0, 0] == 3 and q.num_classes == 4
