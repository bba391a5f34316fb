"""File › Open lists the images inside folders; an image, a folder or segstudio.json opens its project."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QListView

from segstudio.core.image_io import IMAGE_EXTENSIONS
from segstudio.core.project import Project
from segstudio.gui.open_dialog import IMAGE_PATTERNS


def _open_dialog(w, qtbot):
    """Ctrl+O, as a user does; the dialog's file list once it shows the folder."""
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.opener.file_dialog is not None and w.opener.file_dialog.isVisible(), timeout=3000)
    dialog = w.opener.file_dialog
    return dialog, dialog.findChild(QListView, "listView")


def _names(view: QListView) -> list[str]:
    model, root = view.model(), view.rootIndex()
    return [model.index(r, 0, root).data() for r in range(model.rowCount(root))]


def _click_name(qtbot, view: QListView, name: str, double: bool = False) -> None:
    qtbot.waitUntil(lambda: name in _names(view), timeout=5000)
    model, root = view.model(), view.rootIndex()
    index = next(model.index(r, 0, root) for r in range(model.rowCount(root)) if model.index(r, 0, root).data() == name)
    view.scrollTo(index)
    point = view.visualRect(index).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    if double:  # the second click of a double click
        QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def _press_open(qtbot, dialog) -> None:
    button = dialog.findChild(QDialogButtonBox, "buttonBox").button(QDialogButtonBox.StandardButton.Open)
    qtbot.waitUntil(button.isEnabled, timeout=2000)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_patterns_are_the_loaders_extensions():
    assert IMAGE_PATTERNS == tuple(f"*{e}" for e in IMAGE_EXTENSIONS)


def test_the_open_dialog_lists_images_and_opening_an_image_shows_it(main_window, qtbot, tmp_path):
    w = main_window
    other = tmp_path / "other"
    Project.create(other, ["background", "leaf"])
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.full((16, 24, 3), 60, np.uint8)).save(other / "images" / name)
    (other / "images" / "readme.txt").write_text("not listed")
    dialog, view = _open_dialog(w, qtbot)
    assert not dialog.testOption(dialog.Option.ShowDirsOnly)
    dialog.setDirectory(str(other / "images"))
    qtbot.waitUntil(lambda: {"a.png", "b.png", "c.png"} <= set(_names(view)), timeout=5000)
    assert "readme.txt" not in _names(view)  # the name filter lists images
    _click_name(qtbot, view, "b.png")
    with qtbot.waitSignal(w.currentImageChanged, timeout=5000,
                          check_params_cb=lambda image_id: image_id == "b.png"):
        _press_open(qtbot, dialog)
    assert w.project.root == other and w.current_image_id == "b.png"
    assert w.canvas.image() is not None


def test_file_open_accepts_segstudio_json(main_window, qtbot, tmp_path):
    w = main_window
    other = tmp_path / "other"
    Project.create(other, ["background", "leaf"])
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(other / "images" / "x.png")
    dialog, view = _open_dialog(w, qtbot)
    dialog.setDirectory(str(other))
    with qtbot.waitSignal(w.projectOpened, timeout=5000):
        _click_name(qtbot, view, "segstudio.json", double=True)
    assert w.project.root == other and w.project.class_names == ["background", "leaf"]


def test_choosing_a_folder_still_opens_it(main_window, qtbot, demo_project):
    w = main_window
    dialog, view = _open_dialog(w, qtbot)
    dialog.setDirectory(str(demo_project.parent))
    _click_name(qtbot, view, demo_project.name)
    with qtbot.waitSignal(w.projectOpened, timeout=5000):
        _press_open(qtbot, dialog)
    assert w.project.root == demo_project


def test_an_image_of_a_plain_folder_asks_for_classes_then_shows_it(main_window, qtbot, tmp_path):
    w = main_window
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("p1.png", "p2.png"):
        Image.fromarray(np.full((10, 12, 3), 30, np.uint8)).save(plain / name)
    dialog, view = _open_dialog(w, qtbot)
    dialog.setDirectory(str(plain))
    _click_name(qtbot, view, "p2.png")
    _press_open(qtbot, dialog)
    question = w.opener.new_project_dialog
    assert question is not None and question.isVisible() and question.plan.image_folder == plain
    assert not (plain / "segstudio.json").exists()
    qtbot.waitUntil(lambda: question.create_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(w.currentImageChanged, timeout=5000, check_params_cb=lambda i: i == "p2.png"):
        QTest.mouseClick(question.create_button, Qt.MouseButton.LeftButton)
    assert json.loads((plain / "segstudio.json").read_text())["classes"][1]["name"] == "object"
    assert w.project.root == plain and w.current_image_id == "p2.png"


def test_a_missing_recent_folder_is_one_clear_line(main_window, tmp_path):
    w = main_window
    gone = tmp_path / "gone"
    assert not w.opener.open_path(gone)
    assert w.last_error == f"project folder {gone} does not exist"
    assert w.project.name == "project"


def test_open_path_of_an_image_inside_a_project_subfolder(main_window, qtbot, demo_project):
    w = main_window
    image = Path(w.project.images_dir) / "sample_04.jpg"
    assert w.opener.open_path(image)
    qtbot.waitUntil(lambda: w.current_image_id == "sample_04.jpg", timeout=5000)
