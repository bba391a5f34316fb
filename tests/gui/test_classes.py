"""The classes panel: add, rename, recolour, delete with remap (masks on disk change), keys 0-9."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.mask_io import read_mask
from segstudio.core.project import Project


def test_add_and_rename_class_via_buttons(main_window, monkeypatch, qtbot):
    w = main_window
    monkeypatch.setattr(w.questions, "class_name", lambda *_a, **_k: "nucleus")
    with qtbot.waitSignal(w.classesChanged, timeout=2000):
        QTest.mouseClick(w.class_panel.add_button, Qt.MouseButton.LeftButton)
    assert Project.open(w.project.root).class_names[-1] == "nucleus"
    assert w.class_panel.list.count() == 5
    w.class_panel.set_current_class(4)
    monkeypatch.setattr(w.questions, "class_name", lambda *_a, **_k: "nucleolus")
    QTest.mouseClick(w.class_panel.rename_button, Qt.MouseButton.LeftButton)
    assert Project.open(w.project.root).class_names[-1] == "nucleolus"
    assert "nucleolus" in w.class_panel.list.item(4).text()
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_4)
    assert w.canvas.current_class == 4


def test_duplicate_class_name_shows_error(main_window, monkeypatch):
    w = main_window
    monkeypatch.setattr(w.questions, "class_name", lambda *_a, **_k: "cell")
    QTest.mouseClick(w.class_panel.add_button, Qt.MouseButton.LeftButton)
    assert "already exists" in w.last_error
    assert "already exists" in w.status.error_label.text()
    assert w.project.num_classes == 4


def test_recolor_rewrites_mask_palette(main_window, monkeypatch, qtbot):
    w = main_window
    w.class_panel.set_current_class(1)
    monkeypatch.setattr(w.questions, "color", lambda *_a, **_k: "#00ff00")
    with qtbot.waitSignal(w.classesChanged, timeout=2000):
        QTest.mouseClick(w.class_panel.color_button, Qt.MouseButton.LeftButton)
    from PIL import Image
    with Image.open(w.project.mask_path("sample_01.jpg")) as img:
        assert img.getpalette()[3:6] == [0, 255, 0]
    assert Project.open(w.project.root).classes[1].color == "#00ff00"


def test_delete_class_remaps_pixels_on_disk_and_in_the_open_mask(main_window, monkeypatch, qtbot, stroke):
    w = main_window
    root = w.project.root
    before = read_mask(w.project.mask_path("sample_02.jpg"))
    assert (before == 2).any() or (before == 1).any()
    # an unsaved edit with class 3 (fibre) on the open image must survive the class change
    w.show_image("sample_01.jpg")
    w.select_class(3)
    w.canvas.brush_size = 2
    stroke(w, [(2, 2), (20, 2)])
    assert w.current_document().dirty
    w.class_panel.set_current_class(1)  # delete "cell", its pixels become unlabeled
    monkeypatch.setattr(w.questions, "remap_deleted_class", lambda *_a, **_k: (True, None))
    with qtbot.waitSignal(w.classesChanged, timeout=5000):
        QTest.mouseClick(w.class_panel.delete_button, Qt.MouseButton.LeftButton)
    assert Project.open(root).class_names == ["background", "crystal", "fibre"]
    after = read_mask(w.project.mask_path("sample_02.jpg"))
    expect = before.copy()
    expect[before == 1] = IGNORE_INDEX
    expect[before == 2] = 1
    expect[before == 3] = 2
    assert np.array_equal(after, expect)
    saved = read_mask(w.project.mask_path("sample_01.jpg"))
    assert saved[2, 10] == 2  # the fibre stroke, renumbered 3 -> 2
    assert np.array_equal(w.current_document().mask, saved)
    # delete "crystal" (now id 1) remapping to background
    w.class_panel.set_current_class(1)
    monkeypatch.setattr(w.questions, "remap_deleted_class", lambda *_a, **_k: (True, 0))
    QTest.mouseClick(w.class_panel.delete_button, Qt.MouseButton.LeftButton)
    final = read_mask(w.project.mask_path("sample_02.jpg"))
    assert not (final == 2).any() or (expect == 2).any()
    assert set(np.unique(final)) <= {0, 1, IGNORE_INDEX}
    assert (final[expect == 1] == 0).all()
