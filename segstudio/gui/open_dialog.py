"""Choosing a folder while seeing the images in it (File › Open, the New Project dialog's folder buttons).

``QFileDialog.getExistingDirectory`` lists folders only, so a user cannot tell which folder holds the
images. :class:`ImageFolderDialog` is Qt's own (non-native) file dialog in Directory mode with
``ShowDirsOnly`` off and name filters for the image extensions and segstudio.json: folders and their
images are listed. With ``accept_files`` a chosen image file or segstudio.json is accepted too
(``chosen_path``); File › Open then opens the project that file belongs to (and shows the image).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLineEdit, QWidget

PROJECT_FILE = "segstudio.json"  # core.project.PROJECT_FILE (not imported: the window opens without numpy)
IMAGE_PATTERNS = ("*.png", "*.jpg", "*.jpeg", "*.tif", "*.tiff", "*.bmp", "*.webp")  # core.image_io.IMAGE_EXTENSIONS


class ImageFolderDialog(QFileDialog):
    """A folder chooser that lists the images inside folders (see the module docstring)."""

    def __init__(self, parent: QWidget | None, title: str, start: str | Path, accept_files: bool = True) -> None:
        super().__init__(parent, title, str(start))
        self.setObjectName("image_folder_dialog")
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # the native one cannot list files here
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.ShowDirsOnly, False)
        patterns = " ".join(IMAGE_PATTERNS + ((PROJECT_FILE,) if accept_files else ()))
        self.setNameFilters([f"Images{' and projects' if accept_files else ''} ({patterns})", "All files (*)"])
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Open" if accept_files else "Choose")
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Folder or image:" if accept_files else "Folder:")
        self.accept_files = accept_files
        #: what was chosen: a folder, or (``accept_files``) an image file or segstudio.json
        self.chosen_path: Path | None = None
        # Qt disables the accept button when a file is selected in Directory mode; a file opens here too
        self.currentChanged.connect(self._later)
        name_edit = self.findChild(QLineEdit, "fileNameEdit")
        if name_edit is not None:
            name_edit.textChanged.connect(self._later)

    def _later(self, *_args) -> None:
        QTimer.singleShot(0, self, self._enable_open_for_files)  # after Qt's own update of the button

    def _enable_open_for_files(self) -> None:
        box = self.findChild(QDialogButtonBox, "buttonBox")
        files = self.selectedFiles()
        if box is not None and files and Path(files[0]).is_file():
            button = box.button(QDialogButtonBox.StandardButton.Open) or box.button(QDialogButtonBox.StandardButton.Ok)
            if button is not None:
                button.setEnabled(True)

    def accept(self) -> None:
        files = self.selectedFiles()
        path = Path(files[0]) if files else None
        if path is not None and path.is_file():
            if self.accept_files and _openable_file(path):
                self.chosen_path = path
                QDialog.accept(self)  # Qt's Directory mode would ignore a file
            elif not self.accept_files:  # an image picked while choosing a folder: its folder
                self.chosen_path = path.parent
                QDialog.accept(self)
            return
        if path is not None and path.is_dir():
            self.chosen_path = path
        super().accept()


def _openable_file(path: Path) -> bool:
    return path.name == PROJECT_FILE or any(path.name.lower().endswith(p[1:]) for p in IMAGE_PATTERNS)


def choose_folder(parent: QWidget | None, title: str, start: str | Path) -> str | None:
    """A modal folder chooser that shows the images in each folder; the folder, or None when cancelled."""
    dialog = ImageFolderDialog(parent, title, start, accept_files=False)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen_path is None:
        return None
    return str(dialog.chosen_path)
