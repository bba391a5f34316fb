"""The classes dock: pick, add, rename, recolour and delete the open project's classes; show or hide each
on the canvas (eye) and lock it against painting (padlock); paint only unlabeled pixels.

It renders the session's class list and performs the user's edits through the session (which touches
the project file and every mask); problems go to the error reporter. The number shown for a class is
its id: the pixel value in masks, the key that selects it (0-9) and what the status bar shows. Hidden and
locked classes and the "only unlabeled" rule are the session's view state (``session.view``): hiding
"background" keeps its black from darkening the image; the rules are enforced by the mask documents.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from segstudio.core.errors import SegstudioError
from segstudio.gui.class_rows import ClassRowDelegate
from segstudio.gui.errors import ErrorReporter
from segstudio.gui.questions import Questions
from segstudio.session import Session

#: number keys select classes 0-9
KEYED_CLASSES = 10


def color_swatch(color: str, size: int = 16) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor(128, 128, 128))
    p.setBrush(QColor(color))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pix)


def class_label(class_id: int, name: str) -> str:
    """How a class is named everywhere in the window: 'Class 3: bottle'."""
    return f"Class {class_id}: {name}"


class ClassPanel(QWidget):
    """List of the project's classes; ``currentClassChanged(id)`` when the user picks another one."""

    currentClassChanged = Signal(int)

    def __init__(self, session: Session, questions: Questions, errors: ErrorReporter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.questions, self.errors = session, questions, errors
        self.list = QListWidget()
        self.list.setIconSize(QSize(16, 16))
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.setAlternatingRowColors(True)
        self.rows = ClassRowDelegate(self._row_state, self.list)
        self.list.setItemDelegate(self.rows)
        self.rows.toggled.connect(self._on_toggle)
        self.only_unlabeled = QCheckBox("Paint only unlabeled pixels")
        self.only_unlabeled.setObjectName("paint_only_unlabeled")
        self.only_unlabeled.setToolTip("Brush, polygon, fill, wand and Accept never paint over a label "
                                       "(the eraser still erases)")
        self.only_unlabeled.toggled.connect(lambda on: self.session.view.set_only_unlabeled(on))
        self.add_button = self._button("Add", "Add a class")
        self.rename_button = self._button("Rename", "Rename the selected class (or double-click it)")
        self.color_button = self._button("Colour…", "Change the colour of the selected class")
        self.delete_button = self._button("Delete…", "Delete the selected class; you choose what its pixels become")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.add_button, self.rename_button, self.color_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.only_unlabeled)
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename_current())
        self.add_button.clicked.connect(self.add_class)
        self.rename_button.clicked.connect(self.rename_current)
        self.color_button.clicked.connect(self.recolor_current)
        self.delete_button.clicked.connect(self.delete_current)
        session.events.connect("project_changed", lambda _p: self.refresh(reset=True))
        session.events.connect("classes_changed", self.refresh)
        session.events.connect("view_changed", self._on_view_changed)
        self.refresh(reset=True)

    def _button(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return b

    # ---------------------------------------------------------------- content
    def refresh(self, reset: bool = False) -> None:
        """Show the session's classes; keeps the current row unless ``reset`` (a new project: class 1)."""
        project = self.session.project
        classes = project.classes if project is not None else []
        row = -1 if reset else self.list.currentRow()
        if row < 0:
            row = 1 if len(classes) > 1 else 0
        self.list.blockSignals(True)
        self.list.clear()
        for c in classes:
            item = QListWidgetItem(color_swatch(c.color), f"{c.id}   {c.name}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            key = f"; key {c.id}" if c.id < KEYED_CLASSES else ""
            item.setToolTip(f"{class_label(c.id, c.name)} ({c.color}{key}). Eye: show on the image (H); "
                            "padlock: cannot be painted over (L)")
            self.list.addItem(item)
        if classes:
            self.list.setCurrentRow(min(row, len(classes) - 1))
        self.list.blockSignals(False)
        for b in (self.add_button, self.rename_button, self.color_button):
            b.setEnabled(project is not None)
        self.delete_button.setEnabled(len(classes) > 1)
        if classes:
            self.currentClassChanged.emit(self.current_class())

    def _on_view_changed(self, aspect: str) -> None:
        if aspect in ("classes", "rules"):
            self.list.viewport().update()
            self.only_unlabeled.blockSignals(True)
            self.only_unlabeled.setChecked(self.session.view.rules.only_unlabeled)
            self.only_unlabeled.blockSignals(False)

    def _row_state(self, class_id: int) -> tuple[bool, bool]:
        view = self.session.view
        return class_id in view.hidden_classes, class_id in view.rules.locked

    def _on_toggle(self, class_id: int, which: str) -> None:
        (self.toggle_hidden if which == "visible" else self.toggle_locked)(class_id)

    def toggle_hidden(self, class_id: int | None = None) -> None:
        """Show or hide a class (default: the selected one) in the mask and prediction overlays."""
        class_id = self.current_class() if class_id is None else class_id
        self.session.view.set_class_hidden(class_id, class_id not in self.session.view.hidden_classes)

    def toggle_locked(self, class_id: int | None = None) -> None:
        """Lock or unlock a class (default: the selected one) against painting over it."""
        class_id = self.current_class() if class_id is None else class_id
        self.session.view.set_class_locked(class_id, class_id not in self.session.view.rules.locked)

    def current_class(self) -> int:
        return max(0, self.list.currentRow())

    def set_current_class(self, class_id: int) -> bool:
        """Select a class (keys, picker); False when the project has no such class."""
        if not 0 <= class_id < self.list.count():
            return False
        self.list.setCurrentRow(class_id)
        return True

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.currentClassChanged.emit(row)

    # ---------------------------------------------------------------- user actions
    def _run(self, what: str, fn) -> bool:
        try:
            fn()
        except SegstudioError as exc:
            self.errors.report(f"{what}: {exc}")
            return False
        return True

    def add_class(self, name: str | None = None, color: str | None = None) -> bool:
        name = name or self.questions.class_name("Add class")
        if not name:
            return False
        ok = self._run("cannot add the class", lambda: self.session.add_class(name, color))
        if ok:
            self.list.setCurrentRow(self.list.count() - 1)
        return ok

    def rename_current(self) -> bool:
        project, row = self.session.project, self.list.currentRow()
        if project is None or row < 0:
            return False
        current = project.classes[row].name
        name = self.questions.class_name("Rename class", current)
        if not name or name == current:
            return False
        return self._run("cannot rename the class", lambda: self.session.rename_class(row, name))

    def recolor_current(self) -> bool:
        project, row = self.session.project, self.list.currentRow()
        if project is None or row < 0:
            return False
        current = project.classes[row].color
        color = self.questions.color(current)
        if not color or color.lower() == current.lower():
            return False
        return self._run("cannot change the colour", lambda: self.session.recolor_class(row, color))

    def delete_current(self) -> bool:
        project, row = self.session.project, self.list.currentRow()
        if project is None or row < 0 or project.num_classes <= 1:
            return False
        accepted, remap_to = self.questions.remap_deleted_class(project.class_names, row)
        if not accepted:
            return False
        return self._run("cannot delete the class", lambda: self.session.delete_class(row, remap_to))
