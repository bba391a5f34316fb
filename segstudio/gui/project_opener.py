"""How a user opens or makes a project: File › Open (a folder, an image or segstudio.json), File › New
Project…, drops, the recent list — and the classes question when a folder has no segstudio.json yet.

``MainWindow.open_project(path)`` opens a project directly (tests, reloads, ``segstudio FOLDER`` on the
command line, which keeps its old behaviour). :meth:`ProjectOpener.open_path` is what the user's gestures
call: a folder without segstudio.json opens the New Project dialog pre-filled with it instead of silently
making background/foreground classes, and nothing is written there unless the user clicks Create.
Dialogs are shown with ``open()`` (never a blocking ``exec()``); the last ones are kept for tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtWidgets import QDialog

from segstudio.gui.open_dialog import PROJECT_FILE, ImageFolderDialog

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.new_project_dialog import NewProjectDialog
    from segstudio.session.new_project import NewProjectPlan


class ProjectOpener:
    """The window's open / new-project flows (see the module docstring)."""

    def __init__(self, window: MainWindow, save_or_ask: Callable[[], bool | None]) -> None:
        """``save_or_ask()``: save the open project's edits, asking while that fails (``MainWindow._save_or_ask``)."""
        self.window, self._save_or_ask = window, save_or_ask
        self.file_dialog: ImageFolderDialog | None = None
        self.new_project_dialog: NewProjectDialog | None = None

    def _start_dir(self) -> str:
        project = self.window.project
        return str(project.root.parent if project else Path.home())

    def open_dialog(self) -> ImageFolderDialog:
        """File › Open: a chooser listing folders and the images in them; an image or segstudio.json opens too."""
        project = self.window.project
        dialog = ImageFolderDialog(self.window, "Open a folder of images, an image or a project",
                                   str(project.root) if project else str(Path.home()))
        dialog.finished.connect(lambda result: self._opened(dialog, result))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def _opened(self, dialog: ImageFolderDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted and dialog.chosen_path is not None:
            self.open_path(dialog.chosen_path)
        dialog.deleteLater()

    def open_path(self, path: str | Path) -> bool:
        """Open the project of a folder, a segstudio.json or an image file (then showing that image). A folder
        without segstudio.json asks for its classes (the New Project dialog) and returns False: the project
        opens when the user clicks Create."""
        from segstudio.session.new_project import project_root_of

        path = Path(path)
        if not path.exists():
            return self.window.open_project(path)  # reports that it does not exist
        image = path if path.is_file() and path.name != PROJECT_FILE else None
        root = project_root_of(path)
        if not (root / PROJECT_FILE).is_file():
            self.new_project(folder=root, show=image)
            return False
        if not self.window.open_project(root):
            return False
        self._show(image)
        return True

    def new_project(self, folder: str | Path | None = None, show: Path | None = None) -> NewProjectDialog:
        """File › New Project… (``folder``: the classes question for that folder); ``show``: an image to show once
        the project is open."""
        from segstudio.gui.new_project_dialog import NewProjectDialog

        if self.new_project_dialog is not None:
            self.new_project_dialog.close()
        dialog = NewProjectDialog(self.window.runner, self.window.questions,
                                  lambda plan, replace: self._create(plan, replace, show), self.window,
                                  folder=folder, start_dir=self._start_dir())
        dialog.finished.connect(dialog.deleteLater)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        self.new_project_dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: NewProjectDialog) -> None:
        if self.new_project_dialog is dialog:
            self.new_project_dialog = None

    def _create(self, plan: NewProjectPlan, replace_existing: bool, show: Path | None) -> str | None:
        """Save the open project's edits, build the new one (one transaction) and open it; an error message or None."""
        from segstudio.core.errors import SegstudioError

        window = self.window
        keep = self._save_or_ask()
        if keep is None:
            return "the open project's edits could not be saved; nothing was created"
        try:
            window.session.create_project(plan, replace_existing, keep_unsaved=keep)
        except SegstudioError as exc:
            window.errors.report(str(exc))
            return str(exc)
        window.status.showMessage(f"Created the project {plan.root}", 6000)
        self._show(show)
        return None

    def _show(self, image: Path | None) -> None:
        window, project = self.window, self.window.project
        if image is None or project is None:
            return
        from segstudio.core.errors import SegstudioError

        try:
            image_id = project.image_id(image)
        except SegstudioError:  # an image outside the project's images: the first image stays
            return
        if image_id in window.session.image_ids:
            window.show_image(image_id)
