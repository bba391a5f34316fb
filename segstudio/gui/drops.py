"""Files and folders dropped on the window or the image: image files join the project, a folder opens."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from segstudio.gui.errors import ErrorReporter


class DropHandler(QObject):
    """An event filter for the widgets that accept drops (the window and the canvas viewport)."""

    def __init__(self, add_images: Callable[[list[Path]], object], open_folder: Callable[[Path], object],
                 errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.add_images, self.open_folder, self.errors = add_images, open_folder, errors

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            self.accept_local_files(event)
            return True
        if kind == QEvent.Type.Drop:
            self.drop(event)
            return True
        return False

    @staticmethod
    def accept_local_files(event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        from segstudio.core.image_io import IMAGE_EXTENSIONS, is_image_file

        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        files = [p for p in paths if p.is_file() and is_image_file(p)]
        folders = [p for p in paths if p.is_dir()]
        event.acceptProposedAction()
        if files:
            self.add_images(files)
        elif folders:
            self.open_folder(folders[0])
        else:
            self.errors.report(f"nothing to open: drop a folder or image files ({', '.join(IMAGE_EXTENSIONS)})")
