"""Help: the shortcuts list is generated from every action, and Help › Getting Started shows the tour."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from segstudio.gui.getting_started import HEADINGS, GettingStartedDialog, show_on_first_start
from segstudio.gui.main_actions import shortcut_table


def _keys(act) -> str:
    return " / ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts())


def test_every_action_with_a_shortcut_is_in_the_shortcuts_table(main_window):
    w = main_window
    table = set(shortcut_table(w))
    with_keys = {name: act for name, act in w.actions_by_name.items() if not act.shortcut().isEmpty()}
    assert {"train", "accept_unlabeled", "accept_all", "predict_all", "new_project", "open"} <= set(with_keys)
    for name, act in with_keys.items():
        assert (act.text().replace("&", "").rstrip("…"), _keys(act)) in table, name
    texts = dict(table)
    assert texts["Train"] == "Ctrl+Shift+T" and texts["Predict All Images"] == "Ctrl+Shift+P"
    assert texts["Accept Prediction (unlabeled pixels only)"] == "Ctrl+Shift+A"
    assert texts["New Project"] == "Ctrl+Shift+N"


def test_getting_started_opens_from_the_help_menu_and_lists_the_tour(main_window, qtbot):
    w = main_window
    help_menu = w.menu("Help")
    action = w.actions_by_name["getting_started"]
    assert action in help_menu.actions()
    action.trigger()  # what clicking the menu entry does
    dialog = w.findChild(GettingStartedDialog)
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=2000)
    assert not dialog.isModal()
    text = dialog.browser.toPlainText()
    for heading in HEADINGS:
        assert heading in text
    assert "Ctrl+Shift+N" in text and "Ctrl+Shift+T" in text  # keys come from the actions
    QTest.keyClick(w.canvas, Qt.Key.Key_D)  # the window keeps working while the tour is open
    assert w.current_image_id == "sample_02.jpg"
    action.trigger()  # shown again: the same window, not a second one
    assert len(w.findChildren(GettingStartedDialog)) == 1
    dialog.close()


def test_the_tour_follows_the_theme(main_window):
    from segstudio.gui.theme import dark_palette, html_colors, light_palette

    dialog = GettingStartedDialog(main_window)
    dialog.setPalette(dark_palette())
    dark_css = dialog.browser.document().defaultStyleSheet()
    assert html_colors(dark_palette())["text"] in dark_css
    dialog.setPalette(light_palette())
    assert html_colors(light_palette())["text"] in dialog.browser.document().defaultStyleSheet()
    assert html_colors(dark_palette())["text"] != html_colors(light_palette())["text"]
    dialog.close()


def test_the_tour_is_shown_once_on_the_first_start_and_never_by_test_windows(main_window, qtbot):
    w = main_window
    assert w.findChild(GettingStartedDialog) is None  # building the window shows nothing
    dialog = show_on_first_start(w)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    assert show_on_first_start(w) is None  # remembered in the settings
