"""The Layers dock driven as a user does: visibility boxes, opacity sliders, M / O, the prediction's styles
(outline, hatched, disagreement), the uncertainty layer, and the layers remembered by the next window."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from display_helpers import click, key, screen_color
from segstudio.session.view_state import LAYER_ORDER

RED = (230, 25, 75)  # class 1 of the demo project


def _labeled_square(w):
    """sample_05 with class 1 painted in x 10..30, y 10..30 (the rest unlabeled)."""
    w.show_image("sample_05.jpg")
    doc = w.current_document()
    doc.paint(10, 10, 30, 30, lambda v: v.fill(1))
    doc.end_edit()
    return doc


def _close(a, b, tol=12) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def test_layers_are_listed_in_drawing_order_and_replace_the_toolbar_sliders(main_window):
    w = main_window
    panel = w.layers_panel
    rows = [panel.visible_boxes[n].text() for n in LAYER_ORDER]
    assert rows == ["Uncertainty", "Prediction", "Mask", "Image"]
    ys = [panel.visible_boxes[n].mapTo(panel, panel.visible_boxes[n].rect().topLeft()).y() for n in LAYER_ORDER]
    assert ys == sorted(ys)  # shown top to bottom in that order
    assert not hasattr(w, "opacity_slider") and not hasattr(w, "prediction_opacity_slider")
    toolbar_actions = {a.objectName() for a in w.toolbar.actions()}
    assert "action_show_mask" not in toolbar_actions and "action_show_prediction" not in toolbar_actions
    assert w.layers_dock.isVisible()


def test_mask_visibility_by_click_and_m_key_and_opacity_by_keyboard(main_window, qtbot):
    w = main_window
    _labeled_square(w)
    panel, canvas = w.layers_panel, w.canvas
    photo = tuple(int(v) for v in w.current_image.rgb[20, 20])
    slider = panel.opacity_sliders["mask"]
    key(slider, Qt.Key.Key_End)  # 100 %
    assert w.session.view.layers["mask"].opacity == 1.0 and panel.opacity_labels["mask"].text() == "100 %"
    assert screen_color(canvas, 20.5, 20.5) == RED
    for _ in range(10):  # 90 % (PageUp / PageDown switch images)
        QTest.keyClick(slider, Qt.Key.Key_Left)
    blended = screen_color(canvas, 20.5, 20.5)
    assert _close(blended, [0.9 * r + 0.1 * p for r, p in zip(RED, photo)], 3)
    click(panel.visible_boxes["mask"])
    assert not w.session.view.layers["mask"].visible and not w.actions_by_name["show_mask"].isChecked()
    assert _close(screen_color(canvas, 20.5, 20.5), photo, 3)
    key(canvas, Qt.Key.Key_M)  # the shortcut shows it again, the check box follows
    assert panel.visible_boxes["mask"].isChecked() and canvas.mask_visible
    assert _close(screen_color(canvas, 20.5, 20.5), blended, 1)
    key(canvas, Qt.Key.Key_O)
    assert not panel.visible_boxes["prediction"].isChecked() and not canvas.prediction_visible


def test_prediction_styles_tell_it_apart_from_a_mask_of_the_same_colour(main_window, qtbot):
    w = main_window
    _labeled_square(w)
    canvas, panel, view = w.canvas, w.layers_panel, w.session.view
    pred = np.full((64, 64), 255, np.uint8)
    pred[10:30, 10:50] = 1  # same class (colour) as the mask, extends into unlabeled pixels
    pred[10:18, 10:30] = 3  # disagrees with the mask here
    w.set_prediction("sample_05.jpg", pred)
    key(panel.opacity_sliders["prediction"], Qt.Key.Key_End)
    key(panel.opacity_sliders["mask"], Qt.Key.Key_End)
    photo = tuple(int(v) for v in w.current_image.rgb[20, 40])
    assert view.prediction_style == "unlabeled"
    assert screen_color(canvas, 40.5, 20.5) == RED  # filled where unlabeled: looks like the mask
    combo = panel.style_combo
    key(combo, Qt.Key.Key_Down)  # -> Outline
    assert view.prediction_style == "outline" and canvas.layers.prediction_style == "outline"
    assert _close(screen_color(canvas, 40.5, 20.5), photo, 3)  # inside: the image shows
    assert screen_color(canvas, 49.9, 20.5) == RED  # on its boundary: a line in the class colour
    assert screen_color(canvas, 20.5, 25.5) == RED  # the mask stays filled
    key(combo, Qt.Key.Key_Down)  # -> Hatched: stripes across the predicted region
    row = [screen_color(canvas, 40 + i / 10, 20.5) for i in range(0, 60)]
    assert RED in row and any(_close(c, photo, 3) for c in row)
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_End)  # -> Where it disagrees with the mask
    assert view.prediction_style == "disagreement"
    assert _close(screen_color(canvas, 40.5, 20.5), photo, 3)  # unlabeled there: no disagreement
    band = [screen_color(canvas, 15 + i / 10, 12.5) for i in range(0, 60)]
    third = w.project.classes[3].rgb
    assert third in band and RED in band  # class 3 predicted over the class-1 mask: hatched in its colour
    assert screen_color(canvas, 20.5, 25.5) == RED  # agreement: only the mask
    key(canvas, Qt.Key.Key_O, Qt.KeyboardModifier.ShiftModifier)  # Shift+O: the next style
    assert view.prediction_style == "unlabeled" and combo.currentData() == "unlabeled"


def test_uncertainty_layer_shows_where_the_model_is_unsure(main_window, qtbot):
    w = main_window
    w.show_image("sample_05.jpg")
    conf = np.full((64, 64), 0.98, np.float32)
    conf[:, 32:] = 0.1
    w.set_prediction("sample_05.jpg", np.full((64, 64), 2, np.uint8), conf)
    panel, canvas = w.layers_panel, w.canvas
    click(panel.visible_boxes["prediction"])  # only the uncertainty
    before = screen_color(canvas, 48.5, 20.5), screen_color(canvas, 10.5, 20.5)
    click(panel.visible_boxes["uncertainty"])
    unsure, sure = screen_color(canvas, 48.5, 20.5), screen_color(canvas, 10.5, 20.5)
    assert _close(sure, before[1], 6)
    assert unsure[0] > before[0][0] + 40 and unsure[2] > before[0][2] + 40 and unsure[1] < before[0][1] + 5


def test_layers_are_remembered_by_the_next_window(main_window, qtbot, demo_project):
    from segstudio.gui.main_window import MainWindow

    w = main_window
    panel = w.layers_panel
    key(panel.opacity_sliders["mask"], Qt.Key.Key_End)
    click(panel.visible_boxes["uncertainty"])
    key(panel.style_combo, Qt.Key.Key_Down)
    w.close()
    again = MainWindow()
    qtbot.addWidget(again)
    view = again.session.view
    assert view.layers["mask"].opacity == 1.0 and view.layers["uncertainty"].visible
    assert view.prediction_style == "outline"
    assert again.layers_panel.style_combo.currentData() == "outline" and again.canvas.layers.opacity("mask") == 1.0
    again.close()
