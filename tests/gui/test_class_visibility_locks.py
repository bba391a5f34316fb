"""Per-class visibility and locks, "paint only unlabeled pixels", driven from the class list and the keyboard:
the screen shows the image where a class is hidden, and no tool changes a locked class's pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from display_helpers import click, click_pixel, key, screen_color
from segstudio.gui.class_rows import toggle_rect


def _toggle(w, class_id: int, which: str) -> None:
    """Click a class row's eye ("visible") or padlock ("lock")."""
    lst = w.class_panel.list
    rect = lst.visualItemRect(lst.item(class_id))
    click(lst.viewport(), toggle_rect(rect, which).center())


def _close(a, b, tol=4) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def test_hiding_background_shows_the_image_in_the_mask_and_the_prediction(main_window, qtbot):
    w = main_window
    w.show_image("sample_01.jpg")
    mask = w.current_document().mask
    y, x = map(int, np.argwhere(mask == 0)[0])
    photo = tuple(int(v) for v in w.current_image.rgb[y, x])
    darkened = screen_color(w.canvas, x + 0.5, y + 0.5)
    assert sum(darkened) < sum(photo) - 60  # black background at 50 % darkens the image
    _toggle(w, 0, "visible")
    assert w.session.view.hidden_classes == {0} and w.canvas.layers.hidden == {0}
    assert _close(screen_color(w.canvas, x + 0.5, y + 0.5), photo)
    cell = tuple(map(int, np.argwhere(mask == 1)[0]))
    assert not _close(screen_color(w.canvas, cell[1] + 0.5, cell[0] + 0.5), w.current_image.rgb[cell], 20)
    w.session.view.set_layer("mask", visible=False)
    w.set_prediction("sample_01.jpg", np.zeros((64, 64), np.uint8))  # background predicted everywhere
    assert _close(screen_color(w.canvas, x + 0.5, y + 0.5), photo)
    w.class_panel.set_current_class(0)
    key(w.canvas, Qt.Key.Key_H)  # H shows the selected class again
    assert not w.session.view.hidden_classes
    assert sum(screen_color(w.canvas, x + 0.5, y + 0.5)) < sum(photo) - 60


def test_a_locked_class_survives_brush_fill_wand_polygon_and_accept(main_window, qtbot, stroke):
    w = main_window
    w.show_image("sample_01.jpg")
    doc = w.current_document()
    cells = doc.mask == 1
    assert cells.any()
    _toggle(w, 1, "lock")
    assert w.session.view.rules.locked == {1} and doc.rules.locked == {1}
    cy, cx = map(int, np.argwhere(cells)[len(np.argwhere(cells)) // 2])
    w.select_class(3)
    w.canvas.brush_size = 9
    stroke(w, [(0, cy), (cx, cy), (63, cy)])
    assert (doc.mask[cells] == 1).all() and (doc.mask[cy] == 3).any()
    key(w.canvas, Qt.Key.Key_F)
    click_pixel(w, cx, cy)  # fill the locked region: nothing happens
    key(w.canvas, Qt.Key.Key_W)
    click_pixel(w, cx, cy)
    key(w.canvas, Qt.Key.Key_P)
    for px, py in ((cx - 6, cy - 6), (cx + 6, cy - 6), (cx + 6, cy + 6), (cx - 6, cy + 6)):
        click_pixel(w, px, py)
    QTest.keyClick(w.canvas, Qt.Key.Key_Return)  # closes the polygon
    QTest.keyClick(w.canvas, Qt.Key.Key_Return)  # fills it
    assert not w.canvas._tool.points  # committed (and the locked pixels kept, below)
    assert (doc.mask[cells] == 1).all()
    w.set_prediction("sample_01.jpg", np.full((64, 64), 2, np.uint8))
    assert w.accept_prediction("all")
    assert (doc.mask[cells] == 1).all() and (doc.mask[~cells] == 2).all()
    key(w.canvas, Qt.Key.Key_L)  # the selected class is 3; lock and unlock it with the keyboard
    assert w.session.view.rules.locked == {1, 3}
    _toggle(w, 1, "lock")
    assert w.session.view.rules.locked == {3}


def test_paint_only_unlabeled_pixels_keeps_labels_but_erasing_works(main_window, qtbot, stroke):
    w = main_window
    w.show_image("sample_01.jpg")
    doc = w.current_document()
    w.canvas.brush_size = 12
    key(w.canvas, Qt.Key.Key_E)
    stroke(w, [(0, 20), (63, 20)])  # an unlabeled band across the image
    before = doc.mask.copy()
    assert (before[17:23] == 255).all()
    box = w.class_panel.only_unlabeled
    click(box, QPoint(10, box.height() // 2))  # on its check box
    assert w.session.view.rules.only_unlabeled and w.actions_by_name["only_unlabeled"].isChecked()
    w.select_class(2)
    key(w.canvas, Qt.Key.Key_B)
    stroke(w, [(32, 0), (32, 63)])  # across labels and the unlabeled band
    column = doc.mask[:, 28:36]
    labeled = before[:, 28:36] != 255
    assert (column[labeled] == before[:, 28:36][labeled]).all() and (column[~labeled] == 2).all()
    key(w.canvas, Qt.Key.Key_E)
    stroke(w, [(0, 45), (63, 45)])
    assert (doc.mask[42:48] == 255).all()  # the eraser still erases labels
    key(w.canvas, Qt.Key.Key_U)  # U turns the rule off again
    assert not w.session.view.rules.only_unlabeled and not w.class_panel.only_unlabeled.isChecked()
