"""File › New Project… and the classes question on a plain folder, driven like a user."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def _images(folder: Path, n: int = 3, broken: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((20 + i, 30, 3), 40 * i, np.uint8)).save(folder / f"img_{i}.png")
    if broken:
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _open_new_project(w, qtbot):
    """Ctrl+Shift+N on the canvas, as a user does."""
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: w.opener.new_project_dialog is not None and w.opener.new_project_dialog.isVisible(),
                    timeout=3000)
    return w.opener.new_project_dialog


def _type_name(dialog, row: int, text: str) -> None:
    edit = dialog.name_edits[row]
    QTest.mouseClick(edit, Qt.MouseButton.LeftButton)
    edit.selectAll()
    QTest.keyClicks(edit, text)


def _wait_survey(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: dialog.survey is not None, timeout=5000)


def _drop(target, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))


def test_new_project_with_typed_classes_and_a_picked_colour(main_window, qtbot, tmp_path):
    w = main_window
    folder = _images(tmp_path / "cells", broken=True)
    dialog = _open_new_project(w, qtbot)
    assert not dialog.create_button.isEnabled() and "choose a folder of images" in dialog.reason.text().lower()
    w.questions.choose_folder = lambda *_a: str(folder)
    QTest.mouseClick(dialog.folder_button, Qt.MouseButton.LeftButton)
    _wait_survey(qtbot, dialog)
    assert dialog.images.count() == 4
    assert dialog.images.item(0).text().split() == ["broken.png", "unreadable"]
    assert dialog.images.item(1).text().split() == ["img_0.png", "30", "×", "20"]
    assert dialog.summary.text().startswith("4 images · first: img_0.png: 30 × 20, 3 channels, 8-bit")
    assert "1 unreadable (broken.png)" in dialog.summary.text()
    _type_name(dialog, 1, "nucleus")
    QTest.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dialog.name_edits[2], "membrane")  # the new row's name is selected: typing replaces it
    w.questions.color = lambda current: "#00ff80"
    QTest.mouseClick(dialog.color_buttons[2], Qt.MouseButton.LeftButton)
    assert dialog.color_buttons[2].text() == "#00ff80"
    assert dialog.create_button.isEnabled(), dialog.reason.text()
    with qtbot.waitSignal(w.projectOpened, timeout=5000):
        QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    stored = json.loads((folder / "segstudio.json").read_text())["classes"]
    assert [(c["name"], c["color"]) for c in stored] == [("background", "#000000"), ("nucleus", "#e6194b"),
                                                         ("membrane", "#00ff80")]
    assert w.project.root == folder and w.project.class_names == ["background", "nucleus", "membrane"]
    assert w.class_panel.list.count() == 3
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)


def test_create_is_disabled_with_the_reason_while_names_repeat(main_window, qtbot, tmp_path):
    w = main_window
    dialog = w.opener.new_project(folder=_images(tmp_path / "plain"))
    _wait_survey(qtbot, dialog)
    assert dialog.create_button.isEnabled()
    _type_name(dialog, 1, "background")
    assert not dialog.create_button.isEnabled()
    assert dialog.reason.text() == "Classes 1 and 2 are both named 'background'; class names must differ"
    assert "both named" in dialog.create_button.toolTip()
    dialog.name_edits[1].selectAll()
    QTest.keyClick(dialog.name_edits[1], Qt.Key.Key_Backspace)
    assert dialog.reason.text() == "Class 2: a class name cannot be empty"
    QTest.keyClicks(dialog.name_edits[1], "cell")
    assert dialog.create_button.isEnabled() and dialog.reason.text() == ""
    QTest.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)  # removes the row being typed in
    assert [s.name for s in dialog.plan.classes] == ["background"]
    assert not dialog.create_button.isEnabled() and "at least two classes" in dialog.reason.text()
    dialog.reject()


def test_dropping_a_plain_folder_asks_for_classes_and_cancel_writes_nothing(main_window, qtbot, tmp_path):
    w = main_window
    folder = _images(tmp_path / "plain")
    before = _listing(folder)
    _drop(w, [folder])
    dialog = w.opener.new_project_dialog
    assert dialog is not None and dialog.isVisible() and "plain" in dialog.intro.text()
    assert dialog.plan.image_folder == folder
    _wait_survey(qtbot, dialog)
    QTest.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert _listing(folder) == before  # no segstudio.json, nothing else either
    assert w.project.name == "project"  # the open project stays


def test_images_and_a_folder_dropped_on_the_dialog_land_in_a_project_elsewhere(main_window, qtbot, tmp_path):
    w = main_window
    folder = _images(tmp_path / "shots", n=2)
    extra = tmp_path / "extra.png"
    Image.fromarray(np.full((9, 9, 3), 250, np.uint8)).save(extra)
    dialog = _open_new_project(w, qtbot)
    _drop(dialog, [folder, extra])
    _wait_survey(qtbot, dialog)
    assert [dialog.images.item(i).text().split()[0] for i in range(dialog.images.count())] == \
        ["img_0.png", "img_1.png", "extra.png"]
    target = tmp_path / "work" / "shots-project"
    w.questions.choose_folder = lambda *_a: str(target)
    QTest.mouseClick(dialog.location_button, Qt.MouseButton.LeftButton)
    _wait_survey(qtbot, dialog)
    with qtbot.waitSignal(w.projectOpened, timeout=5000):
        QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert w.project.root == target
    assert sorted(w.session.image_ids) == ["extra.png", "img_0.png", "img_1.png"]
    assert _listing(folder) == ["img_0.png", "img_1.png"]  # the source folder is only read


def test_copy_classes_from_another_project(main_window, qtbot, tmp_path, demo_project):
    w = main_window
    dialog = w.opener.new_project(folder=_images(tmp_path / "plain"))
    w.questions.choose_folder = lambda *_a: str(demo_project)
    QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    demo = json.loads((demo_project / "segstudio.json").read_text())["classes"]
    assert [(s.name, s.color) for s in dialog.plan.classes] == [(c["name"], c["color"]) for c in demo]
    assert [e.text() for e in dialog.name_edits] == [c["name"] for c in demo]
    w.questions.choose_folder = lambda *_a: str(tmp_path)  # not a project: one line naming it
    QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert f"{tmp_path} is not a segstudio project" in dialog.reason.text()
    dialog.reject()


def test_an_existing_project_file_is_not_replaced_without_asking(main_window, qtbot, tmp_path, demo_project):
    w = main_window
    before = (demo_project / "segstudio.json").read_bytes()
    dialog = w.opener.new_project()
    dialog.set_image_folder(demo_project)
    _wait_survey(qtbot, dialog)
    asked = []
    w.questions.confirm = lambda title, text: asked.append(text) or False
    QTest.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert asked and "segstudio.json already exists" in asked[0]
    assert (demo_project / "segstudio.json").read_bytes() == before and dialog.isVisible()
    dialog.reject()
