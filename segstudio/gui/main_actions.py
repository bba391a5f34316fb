"""Menus, toolbar and shortcuts of the main window (the behaviour lives in the window's parts).

Every action is registered in ``window.actions_by_name`` and added to the window, so its shortcut works
even when the menu bar is hidden; the shortcuts dialog is generated from those actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QSpinBox, QStyle, QToolBar, QWidget

from segstudio.gui.canvas.tools import TOOL_CLASSES
from segstudio.gui.class_panel import KEYED_CLASSES
from segstudio.gui.icons import icon
from segstudio.gui.tool_options import add_tool_options

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow

MENU_NAMES = ("File", "Edit", "View", "Tools", "Model", "Help")
TOOLS = (("brush", "Brush", "B"), ("eraser", "Eraser", "E"), ("polygon", "Polygon", "P"),
         ("box", "Box (GrabCut)", "G"), ("fill", "Fill", "F"), ("wand", "Magic Wand", "W"),
         ("region", "Predicted Region", "R"), ("picker", "Class Picker", "I"))
#: keys the canvas handles itself (not actions), listed in the shortcuts dialog
CANVAS_KEYS = (("Brush size smaller / larger", "[ / ]"), ("Pan", "Space + drag, middle button"),
               ("Zoom at cursor", "mouse wheel"),
               ("Polygon: close, then fill / cancel", "Enter (or click the first point, double-click), Enter / Esc"),
               ("Polygon: move / insert / delete a point", "drag a point / click an edge / Delete, right-click"),
               ("Box: accept / reject / adjust", "Enter, double-click / Esc / drag a handle"),
               ("Predicted region with its predicted class", "Shift + click"),
               ("Erase with the brush", "right button"), ("Straight brush line", "Shift + click"))


def _action(window: MainWindow, name: str, text: str, slot: Callable | None = None,
            shortcuts: tuple = (), icon_obj=None, checkable: bool = False, tip: str = "") -> QAction:
    act = QAction(text, window)
    act.setObjectName(f"action_{name}")
    if shortcuts:
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
    if icon_obj is not None:
        act.setIcon(icon_obj)
    act.setCheckable(checkable)
    keys = " / ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
    act.setToolTip(f"{tip or text.replace('&', '').rstrip('.…')}" + (f" ({keys})" if keys else ""))
    if slot is not None:
        if checkable:
            act.toggled.connect(slot)
        else:
            act.triggered.connect(lambda _checked=False: slot())
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.addAction(act)  # shortcuts work even when the menu bar is hidden
    window.actions_by_name[name] = act
    return act


def build_actions(window: MainWindow) -> None:
    """Create the menus (File, Edit, View, Tools, Model, Help), their actions and the toolbar."""
    style = window.style()
    sp = QStyle.StandardPixmap
    bar = window.menuBar()
    for name in MENU_NAMES:
        menu = QMenu(f"&{name}", window)
        menu.setObjectName(f"menu_{name}")
        window.menus[name] = menu
        bar.addMenu(menu)

    m = window.menus["File"]
    m.addAction(_action(window, "new_project", "&New Project…", window.opener.new_project, ("Ctrl+Shift+N",),
                        style.standardIcon(sp.SP_FileIcon),
                        tip="Make a project: choose the images, name the classes, check the images"))
    m.addAction(_action(window, "open", "&Open Folder, Image or Project…", window.open_dialog,
                        (QKeySequence.StandardKey.Open,), style.standardIcon(sp.SP_DirOpenIcon)))
    window.recent_menu = m.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(window.populate_recent_menu)
    m.addAction(_action(window, "add_images", "&Add Images…", window.add_images_dialog, ("Ctrl+Shift+I",),
                        style.standardIcon(sp.SP_FileDialogNewFolder)))
    m.addSeparator()
    m.addAction(_action(window, "save", "&Save Masks", window.save_now, (QKeySequence.StandardKey.Save,),
                        style.standardIcon(sp.SP_DialogSaveButton)))
    m.addSeparator()
    window.file_quit_separator = m.addSeparator()
    m.addAction(_action(window, "quit", "&Quit", window.close, ("Ctrl+Q",)))

    m = window.menus["Edit"]
    m.addAction(_action(window, "undo", "&Undo", window.undo, ("Ctrl+Z",), icon("undo")))
    m.addAction(_action(window, "redo", "&Redo", window.redo, ("Ctrl+Shift+Z", "Ctrl+Y"), icon("redo")))

    m = window.menus["View"]
    canvas = window.canvas
    m.addAction(_action(window, "previous_image", "&Previous Image", window.previous_image, ("A", "PgUp"), icon("prev")))
    m.addAction(_action(window, "next_image", "&Next Image", window.next_image, ("D", "PgDown"), icon("next")))
    m.addSeparator()
    m.addAction(_action(window, "zoom_in", "Zoom &In", canvas.zoom_in, ("Ctrl++", "Ctrl+=", "+"), icon("zoom_in")))
    m.addAction(_action(window, "zoom_out", "Zoom &Out", canvas.zoom_out, ("Ctrl+-", "-"), icon("zoom_out")))
    m.addAction(_action(window, "zoom_fit", "&Fit to Window", canvas.fit_to_window, ("Ctrl+0",), icon("zoom_fit")))
    m.addAction(_action(window, "zoom_actual", "&Actual Size (1:1)", canvas.actual_size, ("Ctrl+1",), icon("zoom_1")))
    m.addSeparator()
    # the layers panel binds these to the session's layers (layers_panel.bind_layer_action)
    show_mask = _action(window, "show_mask", "Show &Mask", None, ("M",), icon("mask"),
                        checkable=True, tip="Show the mask layer")
    show_pred = _action(window, "show_prediction", "Show P&rediction", None, ("O",),
                        icon("prediction"), checkable=True, tip="Show the prediction layer")
    show_mask.setChecked(True)
    show_pred.setChecked(True)
    m.addAction(show_mask)
    m.addAction(show_pred)
    m.addSeparator()
    window.docks_menu = m.addMenu("&Panels")

    m = window.menus["Tools"]
    group = QActionGroup(window)
    group.setExclusive(True)
    for name, text, key in TOOLS:
        act = _action(window, f"tool_{name}", text, None, (key,), icon(name), checkable=True)
        act.setStatusTip(TOOL_CLASSES[name].hint)
        act.triggered.connect(lambda _c=False, n=name: window.set_tool(n))
        group.addAction(act)
        m.addAction(act)
    window.actions_by_name["tool_brush"].setChecked(True)
    m.addSeparator()
    classes = m.addMenu("Select &Class")
    for i in range(KEYED_CLASSES):
        act = _action(window, f"class_{i}", f"Class {i}", None, (str(i),))
        act.triggered.connect(lambda _c=False, cid=i: window.select_class(cid))
        classes.addAction(act)

    _build_toolbar(window)


def add_model_actions(window: MainWindow) -> None:
    """The Model menu: the training panel's commands."""
    panel, m = window.training_panel, window.menus["Model"]
    for name, text, keys, slot in (
            ("train", "&Train", ("Ctrl+Shift+T",), panel.start_training),
            ("stop_training", "&Stop Training", (), panel.stop_training),
            ("accept_unlabeled", "&Accept Prediction (unlabeled pixels only)", ("Ctrl+Shift+A",),
             lambda: panel.accept_prediction("unlabeled")),
            ("accept_all", "Accept Prediction (&everywhere)", ("Ctrl+Alt+Shift+A",),
             lambda: panel.accept_prediction("all")),
            ("predict_current", "&Predict Current Image", (), panel.predict_current),
            ("predict_all", "Predict A&ll Images", ("Ctrl+Shift+P",), panel.predict_all)):
        m.addAction(_action(window, name, text, slot, keys))
    m.addSeparator()
    m.addAction(_action(window, "weights_folder", "&Weights Folder…", window.choose_weights_folder,
                        tip="Where pretrained weights are kept (also $SEGSTUDIO_WEIGHTS_DIR)"))
    panel.runningChanged.connect(lambda running: (window.actions_by_name["train"].setEnabled(not running),
                                                  window.actions_by_name["stop_training"].setEnabled(running)))
    window.actions_by_name["stop_training"].setEnabled(False)


def add_help_actions(window: MainWindow, show_about: Callable[[], None], open_log: Callable[[], None]) -> None:
    m = window.menus["Help"]
    m.addAction(_action(window, "getting_started", "&Getting Started", lambda: show_getting_started(window)))
    m.addAction(_action(window, "shortcuts", "&Keyboard Shortcuts…", lambda: show_shortcuts(window), ("F1",)))
    m.addSeparator()
    m.addAction(_action(window, "open_log_folder", "Open &Log Folder", open_log))
    about = _action(window, "about", "&About segstudio", show_about)
    about.setMenuRole(QAction.MenuRole.AboutRole)
    m.addAction(about)


def show_getting_started(window: MainWindow):
    """Help › Getting Started: the short tour, non-modal (one window, raised when shown again)."""
    from segstudio.gui.getting_started import GettingStartedDialog

    dialog = window.findChild(GettingStartedDialog)
    if dialog is None:
        dialog = GettingStartedDialog(window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def _build_toolbar(window: MainWindow) -> None:
    tb = QToolBar("Main toolbar", window)
    tb.setObjectName("toolbar_main")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    a = window.actions_by_name
    for name in ("open", "save", None, "undo", "redo", None, "previous_image", "next_image", None,
                 "zoom_in", "zoom_out", "zoom_fit", "zoom_actual", None):
        tb.addSeparator() if name is None else tb.addAction(a[name])
    for name, _text, _key in TOOLS:
        tb.addAction(a[f"tool_{name}"])
    tb.addSeparator()
    window.brush_spin = QSpinBox()
    window.brush_spin.setRange(1, 512)
    window.brush_spin.setSuffix(" px")
    window.brush_spin.setToolTip("Brush size ([ and ] change it)")
    window.brush_spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    tb.addWidget(_label("Size "))
    tb.addWidget(window.brush_spin)
    add_tool_options(window, tb)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    window.toolbar = tb


def _label(text: str) -> QWidget:
    label = QLabel(text)
    label.setContentsMargins(6, 0, 2, 0)
    return label


def shortcut_table(window: MainWindow) -> list[tuple[str, str]]:
    """(action, keys) for every action with a shortcut, in the order they were made, then the canvas keys."""
    rows = []
    for act in window.actions_by_name.values():
        keys = " / ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts())
        if keys:
            rows.append((act.text().replace("&", "").rstrip("…"), keys))
    return rows + list(CANVAS_KEYS)


def show_shortcuts(window: MainWindow) -> None:
    """A non-modal list of every keyboard shortcut (generated from the actions)."""
    from PySide6.QtWidgets import QMessageBox

    html = "<table cellspacing=6>" + "".join(f"<tr><td>{a}</td><td><b>{k}</b></td></tr>"
                                             for a, k in shortcut_table(window)) + "</table>"
    box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", html, QMessageBox.StandardButton.Close, window)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.show()
    window.shortcuts_box = box
