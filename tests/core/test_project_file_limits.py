"""segstudio.json and the images folder are checked before use: one ProjectError naming the file, never a crash."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import ProjectError
from segstudio.core.project import Project


def _write_config(root, obj_or_text):
    root.mkdir(parents=True, exist_ok=True)
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
    (root / "segstudio.json").write_text(text, encoding="utf-8")
    return root / "segstudio.json"


def _classes(*names):
    return {"version": 1, "classes": [{"id": i, "name": n} for i, n in enumerate(names)]}


def test_deeply_nested_project_file(tmp_path):
    path = _write_config(tmp_path / "p", '{"version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ProjectError) as err:
        Project.open(tmp_path / "p")
    assert str(err.value) == f"{path} is nested too deeply to be a project file"


def test_huge_integer_in_project_file(tmp_path):
    path = _write_config(tmp_path / "p", '{"version": ' + "9" * 5000 + "}")
    with pytest.raises(ProjectError, match=f"^{path} is not a valid project file"):
        Project.open(tmp_path / "p")


@pytest.mark.parametrize("names,message", [
    (("background", "cell", "cell"), "class #2 is named 'cell' like class #1; class names must differ"),
    (("background", "  "), "class #1 has an empty name"),
    (("background", ""), "class #1 has an empty name"),
])
def test_duplicate_or_empty_class_names(tmp_path, names, message):
    path = _write_config(tmp_path / "p", _classes(*names))
    with pytest.raises(ProjectError) as err:
        Project.open(tmp_path / "p")
    assert str(err.value) == f"{path}: {message}"


def test_more_than_255_classes_names_the_file(tmp_path):
    path = _write_config(tmp_path / "p", _classes(*[f"c{i}" for i in range(300)]))
    with pytest.raises(ProjectError) as err:
        Project.open(tmp_path / "p")
    assert str(err.value) == f"{path}: 300 classes, but at most 255 fit in an 8-bit mask (255 means unlabeled)"
    project = Project.create(tmp_path / "q", [f"c{i}" for i in range(255)])
    with pytest.raises(ProjectError) as err:
        project.add_class("one too many")
    assert str(err.value) == (f"{project.config_path}: a project holds at most 255 classes (255 means unlabeled); "
                              "cannot add 'one too many'")


@pytest.mark.parametrize("config,message", [
    ({"version": True}, "invalid version True"),
    ({"version": 1, "ignore_index": "x"}, "ignore_index must be 255 (got 'x')"),
    ({"version": 1, "classes": [{"id": "0", "name": "bg"}]}, "class ids must be 0, 1, 2, ... in order"),
    ({"version": 1, "classes": [{"id": 0, "name": "bg", "color": {"r": 1}}]}, "class 'bg': invalid colour"),
])
def test_wrong_types_in_project_file(tmp_path, config, message):
    _write_config(tmp_path / "p", config)
    with pytest.raises(ProjectError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        Project.open(tmp_path / "p")


def test_symlink_loops_in_images_are_listed_safely(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "fg"])
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(project.images_dir / "real.png")
    os.symlink(project.images_dir, project.images_dir / "loop")  # images/loop -> images
    os.symlink("self.png", project.images_dir / "self.png")  # a link to itself
    os.symlink("missing.png", project.images_dir / "dangling.png")
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(outside)
    os.symlink(outside, project.images_dir / "linked.png")  # a linked file keeps its own name
    images = project.list_images()
    assert [project.image_id(p) for p in images] == ["linked.png", "real.png"]
    project.write_mask("linked.png", np.ones((4, 4), np.uint8))
    assert project.mask_path(images[0]) == project.masks_dir / "linked.png" and project.has_mask(images[0])
    with pytest.raises(ProjectError, match="self.png is not inside"):
        project.image_id(tmp_path / "self.png")
