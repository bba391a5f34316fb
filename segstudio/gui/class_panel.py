"""The classes dock: pick, add, rename, recolour and delete classes (with a pixel remap choice)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QColorDialog, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QInputDialog, QLabel,
    QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from segstudio.core.classes import color_to_hex


# Dialog helpers are module functions so tests can replace them (no modal dialogs in tests).
def ask_class_name(parent: QWidget, title: str, current: str = "") -> str | None:
    """Ask for a class name; None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, "Class name:", text=current)
    return text.strip() if ok and text.strip() else None


def ask_color(parent: QWidget, current: str) -> str | None:
    """Ask for a colour; '#rrggbb' or None when cancelled."""
    color = QColorDialog.getColor(QColor(current), parent, "Class colour")
    return color.name() if color.isValid() else None


def ask_remap(parent: QWidget, class_names: list[str], class_id: int) -> tuple[bool, int | None]:
    """Ask what the deleted class's pixels become: (accepted, remap_to or None for unlabeled)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Delete class “{class_names[class_id]}”")
    combo = QComboBox()
    combo.addItem("Unlabeled (ignored in training)", None)
    for i, name in enumerate(class_names):
        if i != class_id:
            combo.addItem(f"{i}: {name}", i)
    form = QFormLayout(dialog)
    form.addRow(QLabel(f"Every pixel of “{class_names[class_id]}” in every mask will become:"))
    form.addRow("Pixels become", combo)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False, None
    return True, combo.currentData()


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


class ClassPanel(QWidget):
    """List of the project's classes. The window performs the edits (they touch masks on disk).

    Signals: ``currentClassChanged(id)``; requests ``addRequested(name, color)``,
    ``renameRequested(id, name)``, ``recolorRequested(id, color)``, ``deleteRequested(id, remap_to)``
    (remap_to = -1 for unlabeled).
    """

    currentClassChanged = Signal(int)
    addRequested = Signal(str)
    renameRequested = Signal(int, str)
    recolorRequested = Signal(int, str)
    deleteRequested = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._classes: list = []
        self.list = QListWidget()
        self.list.setIconSize(QSize(16, 16))
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.list.setAlternatingRowColors(True)
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
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename_current())
        self.add_button.clicked.connect(self.add_class)
        self.rename_button.clicked.connect(self.rename_current)
        self.color_button.clicked.connect(self.recolor_current)
        self.delete_button.clicked.connect(self.delete_current)

    def _button(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return b

    # ---------------------------------------------------------------- content
    def set_classes(self, classes: list) -> None:
        """Show ClassInfo items; keeps the current row when possible."""
        row = self.list.currentRow()
        if row < 0:
            row = 1 if len(classes) > 1 else 0
        self._classes = list(classes)
        self.list.blockSignals(True)
        self.list.clear()
        for c in self._classes:
            key = f"   [{c.id + 1}]" if c.id < 9 else ""
            item = QListWidgetItem(color_swatch(c.color), f"{c.name}{key}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(f"class {c.id}: {c.name} ({c.color})")
            self.list.addItem(item)
        self.list.setCurrentRow(min(row, len(self._classes) - 1))
        self.list.blockSignals(False)
        self.delete_button.setEnabled(len(self._classes) > 1)

    def current_class(self) -> int:
        return max(0, self.list.currentRow())

    def set_current_class(self, class_id: int) -> None:
        if 0 <= class_id < self.list.count():
            self.list.setCurrentRow(class_id)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.currentClassChanged.emit(row)

    # ---------------------------------------------------------------- user actions
    def add_class(self) -> None:
        name = ask_class_name(self, "Add class")
        if name:
            self.addRequested.emit(name)

    def rename_current(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        name = ask_class_name(self, "Rename class", self._classes[row].name)
        if name and name != self._classes[row].name:
            self.renameRequested.emit(row, name)

    def recolor_current(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        color = ask_color(self, self._classes[row].color)
        if color and color.lower() != self._classes[row].color.lower():
            self.recolorRequested.emit(row, color)

    def delete_current(self) -> None:
        row = self.list.currentRow()
        if row < 0 or len(self._classes) <= 1:
            return
        accepted, remap_to = ask_remap(self, [c.name for c in self._classes], row)
        if accepted:
            self.deleteRequested.emit(row, -1 if remap_to is None else int(remap_to))


__all__ = ["ClassPanel", "ask_class_name", "ask_color", "ask_remap", "color_swatch", "color_to_hex"]
