"""Every question the window asks the user, in one place (tests replace these methods on the instance)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QInputDialog,
                               QLabel, QMessageBox, QWidget)

from segstudio.core.errors import ImageTooLargeError, MaskNeedsMappingError

#: dialogs are at least this wide, so their titles are never cut
MIN_DIALOG_WIDTH = 420


def widen(dialog: QDialog, min_width: int = MIN_DIALOG_WIDTH) -> QDialog:
    """Make a dialog wide enough for its title (window managers cut titles of narrow dialogs)."""
    width = max(min_width, dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) + 160)
    if isinstance(dialog, QMessageBox):  # a message box sizes itself: a spacer in its grid sets the width
        from PySide6.QtWidgets import QSizePolicy, QSpacerItem

        grid = dialog.layout()
        grid.addItem(QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding),
                     grid.rowCount(), 0, 1, grid.columnCount())
    else:
        dialog.resize(max(width, dialog.sizeHint().width()), dialog.sizeHint().height())
    return dialog


class Questions:
    """Modal questions, parented to the window."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.parent)
        return widen(box).exec() == QMessageBox.StandardButton.Yes

    def open_too_large(self, path: Path, exc: ImageTooLargeError) -> bool:
        return self.confirm("Very large image",
                            f"{path.name} has {exc.pixels:,} pixels, more than the safety limit of "
                            f"{exc.limit:,} (a possible decompression bomb).\n\nOpen it anyway?")

    def unsaved_on_close(self, message: str) -> str:
        """Saving failed while leaving: "retry", "quit" (edits stay in the recovery journal) or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes", message, parent=self.parent)
        retry = box.addButton("Try Again", QMessageBox.ButtonRole.AcceptRole)
        quit_ = box.addButton("Leave (keep edits for recovery)", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        widen(box).exec()
        if box.clickedButton() is retry:
            return "retry"
        return "quit" if box.clickedButton() is quit_ else "cancel"

    def value_map(self, error: MaskNeedsMappingError, num_classes: int) -> str | None:
        """How a foreign mask's values map to classes, e.g. '0:0,255:1'; None when cancelled."""
        values = ", ".join(str(v) for v in error.values[:12])
        dialog = QInputDialog(self.parent)
        dialog.setWindowTitle("Mask needs a value mapping")
        dialog.setLabelText(f"{error.path.name} was not written by segstudio (values {values}).\n"
                            "Map each value to a class id (value:class, comma separated; unmapped values "
                            "become unlabeled):")
        dialog.setTextValue(",".join(f"{v}:{min(i, max(0, num_classes - 1))}" for i, v in enumerate(error.values[:12])))
        if widen(dialog).exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.textValue().strip() or None

    def class_name(self, title: str, current: str = "") -> str | None:
        """A class name; None when cancelled."""
        dialog = QInputDialog(self.parent)
        dialog.setWindowTitle(title)
        dialog.setLabelText("Class name:")
        dialog.setTextValue(current)
        if widen(dialog).exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.textValue().strip() or None

    def choose_folder(self, title: str, start: str | Path) -> str | None:
        """A folder (the chooser lists the images inside folders); None when cancelled."""
        from segstudio.gui.open_dialog import choose_folder

        return choose_folder(self.parent, title, start)

    def color(self, current: str) -> str | None:
        """A colour '#rrggbb'; None when cancelled."""
        color = QColorDialog.getColor(QColor(current), self.parent, "Class colour")
        return color.name() if color.isValid() else None

    def remap_deleted_class(self, class_names: list[str], class_id: int) -> tuple[bool, int | None]:
        """What the deleted class's pixels become: (accepted, remap_to or None for unlabeled)."""
        dialog = QDialog(self.parent)
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
        if widen(dialog).exec() != QDialog.DialogCode.Accepted:
            return False, None
        return True, combo.currentData()
