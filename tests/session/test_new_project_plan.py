"""Making a new project without a window: validation, the image survey, building as a transaction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import SegstudioError
from segstudio.core.image_io import load_image
from segstudio.core.project import Project, read_project_classes
from segstudio.session import Session
from segstudio.session.new_project import (ClassSpec, NewProjectPlan, build_project, class_problem, plan_problem,
                                           project_root_of, survey_images)


def _folder(tmp_path: Path, name: str = "photos") -> Path:
    folder = tmp_path / name
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(folder / "a.png")
    Image.fromarray(np.full((12, 16), 7000, np.uint16)).save(folder / "sub" / "b.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_class_problems_name_the_row():
    assert class_problem([ClassSpec("background", "#000000")]).startswith("add at least two classes")
    assert class_problem([ClassSpec("bg", "#000000"), ClassSpec("  ", "#ff0000")]) == "class 2: a class name cannot be empty"
    dup = class_problem([ClassSpec("cell", "#000000"), ClassSpec("x", "#00ff00"), ClassSpec("cell ", "#ff0000")])
    assert dup == "classes 1 and 3 are both named 'cell'; class names must differ"
    assert "invalid colour 'red'" in class_problem([ClassSpec("bg", "#000000"), ClassSpec("cell", "red")])
    assert class_problem([ClassSpec("bg", "#000000"), ClassSpec("cell", "#ff0000")]) is None


def test_survey_lists_images_sizes_depth_and_unreadable_files(tmp_path):
    folder = _folder(tmp_path)
    survey = survey_images(NewProjectPlan(image_folder=folder))
    assert [e.image_id for e in survey.entries] == ["a.png", "broken.jpg", "sub/b.png"]
    assert survey.entries[0].size == (40, 30) and survey.entries[2].size == (16, 12)
    assert survey.first == "a.png: 40 × 30, 3 channels, 8-bit"
    assert [e.image_id for e in survey.unreadable] == ["broken.jpg"]
    assert "broken.jpg" in survey.unreadable[0].problem
    assert survey.summary().startswith("3 images · first: a.png") and "1 unreadable (broken.jpg)" in survey.summary()


def test_plan_problems_before_anything_is_written(tmp_path):
    folder = _folder(tmp_path)
    before = _listing(folder)
    assert plan_problem(NewProjectPlan()) == "choose a folder of images (or drop images here)"
    empty = tmp_path / "empty"
    empty.mkdir()
    plan = NewProjectPlan(image_folder=empty)
    assert plan_problem(plan, survey_images(plan)).startswith(f"no images in {empty}")
    inside = NewProjectPlan(image_folder=folder, location=folder / "project")
    assert "reads its input from" in plan_problem(inside)
    other = tmp_path / "other"
    Project.create(other, ["background", "cell"])
    assert "masks/ folder of" in plan_problem(NewProjectPlan(image_folder=folder, location=other / "masks"))
    with pytest.raises(SegstudioError, match="both named"):
        build_project(NewProjectPlan(image_folder=folder, classes=[ClassSpec("a", "#000000"), ClassSpec("a", "#111111")]))
    assert _listing(folder) == before


def test_build_in_the_image_folder_writes_only_segstudio_json(tmp_path):
    folder = _folder(tmp_path)
    before = _listing(folder)
    classes = [ClassSpec("background", "#000000"), ClassSpec("nucleus", "#FF0080"), ClassSpec("membrane", "00ff00")]
    session = Session()
    project = session.create_project(NewProjectPlan(image_folder=folder, classes=classes))
    assert project.root == folder and session.project is project
    assert _listing(folder) == sorted(before + ["segstudio.json"])
    stored = json.loads((folder / "segstudio.json").read_text())["classes"]
    assert stored == [{"id": 0, "name": "background", "color": "#000000"},
                      {"id": 1, "name": "nucleus", "color": "#ff0080"},
                      {"id": 2, "name": "membrane", "color": "#00ff00"}]
    assert session.image_ids == ["a.png", "broken.jpg", "sub/b.png"]


def test_build_elsewhere_copies_the_images_and_dropped_files(tmp_path):
    folder = _folder(tmp_path)
    dropped = tmp_path / "dropped.png"
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(dropped)
    root = build_project(NewProjectPlan(image_folder=folder, files=[dropped], location=tmp_path / "new" / "proj"))
    assert (root / "images" / "sub" / "b.png").read_bytes() == (folder / "sub" / "b.png").read_bytes()
    assert load_image(root / "images" / "dropped.png").data[0, 0, 0] == 200
    assert not (root / ".segstudio").exists()  # the transaction left no trace
    assert [c.name for c in read_project_classes(root)] == ["background", "object"]


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    target = tmp_path / "new" / "proj"
    from segstudio.session import new_project

    real_copy = new_project._copy_into
    calls = []

    def copy_then_fail(src, fh):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_copy(src, fh)

    monkeypatch.setattr(new_project, "_copy_into", copy_then_fail)
    with pytest.raises(SegstudioError, match="No space left"):
        build_project(NewProjectPlan(image_folder=folder, location=target))
    assert not (tmp_path / "new").exists()


def test_an_existing_project_file_is_replaced_only_when_confirmed(tmp_path):
    root = tmp_path / "proj"
    Project.create(root, ["background", "old"])
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "images" / "x.png")
    config = json.loads((root / "segstudio.json").read_text())
    config["mine"] = {"keep": True}
    (root / "segstudio.json").write_text(json.dumps(config))
    plan = NewProjectPlan(image_folder=root, classes=[ClassSpec("background", "#000000"), ClassSpec("new", "#123456")])
    assert plan.existing_project_file() == root / "segstudio.json"
    with pytest.raises(SegstudioError, match="already exists"):
        build_project(plan)
    assert [c.name for c in read_project_classes(root)] == ["background", "old"]
    build_project(plan, replace_existing=True)
    stored = json.loads((root / "segstudio.json").read_text())
    assert [c["name"] for c in stored["classes"]] == ["background", "new"] and stored["mine"] == {"keep": True}


def test_project_root_of_an_image_file(tmp_path):
    root = tmp_path / "proj"
    Project.create(root, ["background", "cell"])
    (root / "images" / "deep").mkdir()
    image = root / "images" / "deep" / "c.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert project_root_of(image) == root
    assert project_root_of(root / "segstudio.json") == root
    assert project_root_of(root / "images") == root and project_root_of(root / "images" / "deep") == root / "images" / "deep"
    plain = _folder(tmp_path)
    assert project_root_of(plain / "a.png") == plain
    assert project_root_of(plain / "sub" / "b.png") == plain / "sub"


def test_read_project_classes_names_a_folder_without_project(tmp_path):
    with pytest.raises(SegstudioError, match="is not a segstudio project"):
        read_project_classes(tmp_path)
