"""Project model: opening folders, listing images, classes with pixel remaps, config safety."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.errors import ProjectError, SaveError
from segstudio.core.project import LabelStatus, Project


def _img(path, size=(16, 12), value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value, value)).save(path)
    return path


def test_plain_folder_becomes_project_on_first_save(tmp_path):
    for name in ["img10.png", "img2.png", "img1.jpg", "notes.txt"]:
        if name.endswith("txt"):
            (tmp_path / name).write_text("x")
        else:
            _img(tmp_path / name)
    _img(tmp_path / "masks" / "stray.png")  # reserved folders are skipped
    _img(tmp_path / "runs" / "r1" / "plot.png")
    _img(tmp_path / "sub" / "img3.png")
    project = Project.open(tmp_path)
    assert [project.image_id(p) for p in project.list_images()] == ["img1.jpg", "img2.png", "img10.png", "sub/img3.png"]
    assert not (tmp_path / "segstudio.json").exists()
    project.save()
    assert json.loads((tmp_path / "segstudio.json").read_text())["version"] == 1


def test_images_folder_natural_sort_recursive(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    for rel in ["b/x2.png", "b/x10.png", "a.png", "B/x1.png"]:
        _img(project.images_dir / rel)
    ids = [project.image_id(p) for p in project.list_images()]
    assert ids == ["a.png", "b/x2.png", "b/x10.png", "B/x1.png"] or ids == ["a.png", "B/x1.png", "b/x2.png", "b/x10.png"]
    assert ids.index("b/x2.png") < ids.index("b/x10.png")


def test_mask_path_and_status(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    _img(project.images_dir / "sub" / "one.jpg")
    _img(project.images_dir / "two.png")
    assert project.mask_path("sub/one.jpg") == project.root / "masks" / "sub" / "one.png"
    assert project.label_status("two.png") is LabelStatus.NONE
    mask = np.full((12, 16), 255, np.uint8)
    project.write_mask("two.png", mask)
    assert project.label_status("two.png") is LabelStatus.NONE
    mask[0, 0] = 1
    project.write_mask("two.png", mask)
    assert project.label_status("two.png") is LabelStatus.PARTIAL
    project.write_mask("two.png", np.zeros((12, 16), np.uint8))
    assert project.label_status("two.png") is LabelStatus.COMPLETE
    assert [project.image_id(p) for p in project.labeled_images()] == ["two.png"]


def test_unknown_keys_preserved(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    cfg = json.loads(project.config_path.read_text())
    cfg["plugin_settings"] = {"keep": [1, 2, 3]}
    project.config_path.write_text(json.dumps(cfg))
    reopened = Project.open(tmp_path / "p")
    reopened.add_class("b")
    saved = json.loads(project.config_path.read_text())
    assert saved["plugin_settings"] == {"keep": [1, 2, 3]}
    assert [c["name"] for c in saved["classes"]] == ["bg", "a", "b"]


def test_invalid_json_names_file(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "segstudio.json").write_text('{"version": 1, "classes": [')
    with pytest.raises(ProjectError) as err:
        Project.open(root)
    assert "segstudio.json" in str(err.value) and "not valid JSON" in str(err.value)


def test_newer_version_refused(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    original = json.dumps({"version": 7, "classes": [{"id": 0, "name": "bg", "color": "#000000"}]})
    (root / "segstudio.json").write_text(original)
    with pytest.raises(ProjectError, match="newer segstudio"):
        Project.open(root)
    assert (root / "segstudio.json").read_text() == original  # untouched


def test_bad_class_entries(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "segstudio.json").write_text(json.dumps({"version": 1, "classes": [{"id": 0, "name": "bg", "color": "red"}]}))
    with pytest.raises(ProjectError, match="invalid colour 'red'"):
        Project.open(root)


def test_add_images_resolves_name_clashes(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    src = tmp_path / "src"
    a = _img(src / "cell.png", value=10)
    _img(project.images_dir / "cell.png", value=200)
    (src / "readme.txt").write_text("skip me")
    added = project.add_images([a, a, src / "readme.txt"])
    assert [p.name for p in added] == ["cell_1.png", "cell_2.png"]
    # the existing image was not overwritten
    assert np.asarray(Image.open(project.images_dir / "cell.png"))[0, 0, 0] == 200
    assert np.asarray(Image.open(added[0]))[0, 0, 0] == 10


def test_delete_class_remaps_pixels_in_every_mask(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a", "b", "c"])
    _img(project.images_dir / "x.png", size=(4, 1))
    _img(project.images_dir / "y.png", size=(4, 1))
    project.write_mask("x.png", np.array([[0, 1, 2, 3]], np.uint8))
    project.write_mask("y.png", np.array([[3, 3, 1, 255]], np.uint8))
    project.delete_class(1, remap_to=None)  # 'a' pixels become unlabeled, b->1, c->2
    assert project.class_names == ["bg", "b", "c"]
    assert project.read_mask("x.png").tolist() == [[0, 255, 1, 2]]
    assert project.read_mask("y.png").tolist() == [[2, 2, 255, 255]]
    project.delete_class(2, remap_to=0)  # 'c' pixels become background
    assert project.read_mask("x.png").tolist() == [[0, 255, 1, 0]]
    assert Project.open(project.root).class_names == ["bg", "b"]


def test_rename_recolor_and_palette_in_masks(tmp_path):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    _img(project.images_dir / "x.png", size=(2, 1))
    project.write_mask("x.png", np.array([[0, 1]], np.uint8))
    project.rename_class(1, "nucleus")
    project.recolor_class(1, "#12ab34")
    assert Project.open(project.root).classes[1].name == "nucleus"
    with Image.open(project.mask_path("x.png")) as img:
        assert img.getpalette()[3:6] == [0x12, 0xAB, 0x34]
    with pytest.raises(ProjectError, match="already exists"):
        project.rename_class(0, "nucleus")
    with pytest.raises(ProjectError, match="invalid colour"):  # a SegstudioError, which the GUI shows
        project.recolor_class(1, "#12")


def test_read_only_project_save_fails_with_message_and_keeps_old_mask(tmp_path, monkeypatch):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    _img(project.images_dir / "x.png", size=(2, 1))
    project.write_mask("x.png", np.array([[0, 1]], np.uint8))
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Tests run as root, where chmod does not stop writes: make the folder refuse new files instead.
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(SaveError) as err:
        project.write_mask("x.png", np.array([[1, 1]], np.uint8))
    assert str(project.mask_path("x.png")) in str(err.value) and "Permission denied" in str(err.value)
    monkeypatch.undo()
    assert project.read_mask("x.png").tolist() == [[0, 1]]


def test_read_only_folder_with_chmod(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    project = Project.create(tmp_path / "p", ["bg", "a"])
    _img(project.images_dir / "x.png", size=(2, 1))
    project.write_mask("x.png", np.array([[0, 1]], np.uint8))
    os.chmod(project.masks_dir, 0o555)
    try:
        with pytest.raises(SaveError, match="x.png"):
            project.write_mask("x.png", np.array([[1, 1]], np.uint8))
    finally:
        os.chmod(project.masks_dir, 0o755)
    assert project.read_mask("x.png").tolist() == [[0, 1]]


def test_unicode_and_spaces_project(tmp_path):
    project = Project.create(tmp_path / "Projekt mit Ümläuten 細胞", ["bg", "Zelle ü"])
    _img(project.images_dir / "Bild 1 (Kopie).png", size=(3, 2))
    project.write_mask("Bild 1 (Kopie).png", np.ones((2, 3), np.uint8))
    again = Project.open(project.root)
    assert again.class_names == ["bg", "Zelle ü"]
    assert again.read_mask("Bild 1 (Kopie).png").sum() == 6


def test_open_missing_folder(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "nowhere")


def test_project_opened_by_relative_path(tmp_path, monkeypatch):
    project = Project.create(tmp_path / "p", ["bg", "a"])
    _img(project.images_dir / "x.png", size=(2, 1))
    project.write_mask("x.png", np.array([[0, 1]], np.uint8))
    monkeypatch.chdir(tmp_path)
    rel = Project.open("p")
    assert rel.root.is_absolute()
    assert [rel.image_id(p) for p in rel.labeled_images()] == ["x.png"]
    assert rel.mask_path("x.png") == project.mask_path("x.png")
