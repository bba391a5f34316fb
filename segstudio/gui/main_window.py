"""The main window: it builds the views of the session (browser, canvas, classes and training docks),
wires the session's events to them and forwards the user's actions to the session.

The state lives in :class:`segstudio.session.Session`; every background job runs on one
:class:`~segstudio.gui.jobs.JobRunner`; errors go through one :class:`~segstudio.gui.errors.ErrorReporter`
(status bar, non-modal box, log) and questions through :class:`~segstudio.gui.questions.Questions`.
``MainWindow.open_project(path)`` is the entry point File › Open, drops, the recent list and tests use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QVBoxLayout, QWidget

from segstudio.core.errors import SaveError, SegstudioError
from segstudio.gui import settings as app_settings
from segstudio.gui.autosave import AutoSaver
from segstudio.gui.canvas.canvas_view import CanvasView
from segstudio.gui.class_panel import ClassPanel, class_label
from segstudio.gui.cursor_readout import CursorReadout
from segstudio.gui.display_controller import DisplayController
from segstudio.gui.display_panel import DisplayPanel
from segstudio.gui.drops import DropHandler
from segstudio.gui.errors import ErrorReporter, forget_reporter, install_excepthook
from segstudio.gui.image_browser import ImageBrowser
from segstudio.gui.image_switcher import ImageSwitcher
from segstudio.gui.jobs import JobRunner
from segstudio.gui.layers_panel import LayersPanel, add_display_actions
from segstudio.gui.main_actions import MENU_NAMES, add_help_actions, add_model_actions, build_actions
from segstudio.gui.project_opener import ProjectOpener
from segstudio.gui.questions import Questions
from segstudio.gui.recovery_banner import RecoveryBanner
from segstudio.gui.status_bar import StatusBar
from segstudio.gui.training.panel import TrainingPanel
from segstudio.gui.window_settings import restore_layout, restore_tool_settings, save_window_settings
from segstudio.session import Session

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage
    from segstudio.core.mask_document import MaskDocument
    from segstudio.core.project import Project
    from segstudio.gui.import_export import ImportExportController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The annotation window; see the module docstring."""

    projectOpened = Signal(object)
    currentImageChanged = Signal(str)
    maskSaved = Signal(str)
    classesChanged = Signal()

    def __init__(self, parent: QWidget | None = None, *, session: Session | None = None,
                 runner: JobRunner | None = None, defer_import_export: bool = False) -> None:
        """``defer_import_export``: build the File › Import/Export menus (whose format code pulls in numpy and
        Pillow) only in :meth:`finish_startup`, which ``start_app`` calls once the window is on screen."""
        super().__init__(parent)
        self.setObjectName("segstudio_main_window")
        self.setWindowTitle("segstudio[*]")
        from segstudio.gui.about_dialog import set_app_identity

        set_app_identity()
        app_settings.apply_weights_folder()
        self.session = session or Session()
        self.runner = runner or JobRunner(parent=self)
        self.questions = Questions(self)
        self.opener = ProjectOpener(self, self._save_or_ask)
        self.actions_by_name: dict = {}
        self.menus: dict[str, QMenu] = {}
        self.import_export: ImportExportController | None = None
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.errors = ErrorReporter(self.status, self)
        install_excepthook(self.errors)
        self.runner.jobFailed.connect(lambda key, message, trace: self.errors.report(
            f"A background task failed ({key}): {message}", trace))

        self.canvas = CanvasView(self.runner, self)
        self.recovery_banner = RecoveryBanner(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.recovery_banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.browser = ImageBrowser(self.session, self.runner, self)
        self.class_panel = ClassPanel(self.session, self.questions, self.errors, self)
        self.display = DisplayController(self.session, self.canvas, self.runner, self)
        self.layers_panel = LayersPanel(self.session, DisplayPanel(self.session, self.display, self.questions,
                                                                   self.errors), self)
        self.switcher = ImageSwitcher(self.session, self.runner, self.errors, self.questions, self.status,
                                      lambda image_id: [self.browser.neighbour(image_id, s) for s in (1, -1)], self)
        self.autosaver = AutoSaver(self.session, self.errors, parent=self)
        self.readout = CursorReadout(self.session, self.canvas, self.status)
        self.training_panel = TrainingPanel(self.session, self.runner, self.errors, self.autosaver.save_now, self)
        self.training_panel.liveChanged.connect(self.autosaver.set_prompt)  # live: strokes saved within ~0.25 s
        self.browser_dock = self._dock("Images", "dock_images", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.layers_dock = self._dock("Layers", "dock_layers", self.layers_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.classes_dock = self._dock("Classes", "dock_classes", self.class_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_dock = self._dock("Training", "dock_training", self.training_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        build_actions(self)
        add_model_actions(self)
        add_help_actions(self, self.show_about, self._open_log_folder)
        add_display_actions(self)
        for dock in (self.browser_dock, self.layers_dock, self.classes_dock, self.training_dock):
            self.docks_menu.addAction(dock.toggleViewAction())
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(1400, 880)
        self._connect()
        restore_tool_settings(self)
        self.drops = DropHandler(self.add_images, self.opener.open_path, self.errors, self)
        self.setAcceptDrops(True)
        self.installEventFilter(self.drops)
        self.canvas.viewport().installEventFilter(self.drops)  # files dropped on the image land here too
        self._update_actions()
        if not defer_import_export:
            self.finish_startup()
        self.resizeDocks([self.browser_dock, self.classes_dock], [285, 390], Qt.Orientation.Horizontal)
        self.resizeDocks([self.classes_dock, self.training_dock], [170, 600], Qt.Orientation.Vertical)
        self.resizeDocks([self.browser_dock, self.layers_dock], [380, 470], Qt.Orientation.Vertical)
        restore_layout(self)

    def finish_startup(self) -> None:
        """Build the File › Import/Export menus (once); see ``defer_import_export``."""
        if self.import_export is not None:
            return
        from segstudio.gui.import_export import ImportExportController, build_menus

        self.import_export = ImportExportController(self.session, self.runner, self.errors, self.questions,
                                                    self.save_now, self.reload_project, self)
        self.import_export.show_dialogs = self.errors.show_dialogs
        self.import_menu, self.export_menu = build_menus(self.import_export, self.menus["File"])
        self.menus["File"].insertMenu(self.file_quit_separator, self.import_menu)
        self.menus["File"].insertMenu(self.file_quit_separator, self.export_menu)

    # ================================================================ construction helpers
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        c, ev = self.canvas, self.session.events
        c.editFinished.connect(self.session.note_edit)
        c.classPicked.connect(self.select_class)
        c.toolChanged.connect(self._on_tool_changed)
        c.brushSizeChanged.connect(self._on_brush_size)
        c.zoomChanged.connect(self.status.show_zoom)
        self.browser.imageActivated.connect(self.show_image)
        self.class_panel.currentClassChanged.connect(c.set_current_class)
        self.brush_spin.valueChanged.connect(self._set_brush_size)
        self.recovery_banner.restoreClicked.connect(self.restore_recovery)
        self.recovery_banner.discardClicked.connect(self.discard_recovery)
        ev.connect("project_changed", self._on_project_changed)
        ev.connect("image_changed", self._on_image_changed)
        ev.connect("document_edited", lambda _image_id: self._after_edit())
        ev.connect("dirty_changed", self.setWindowModified)
        ev.connect("mask_saved", lambda image_id, _status: self.maskSaved.emit(image_id))
        ev.connect("classes_changed", self._on_classes_changed)
        ev.connect("prediction_changed", self._on_prediction_changed)
        ev.connect("recovery_available", self.recovery_banner.offer)
        ev.connect("channels_changed", lambda _spec: self._redraw_thumbnails())

    def _redraw_thumbnails(self) -> None:
        """The channel colours changed: thumbnails are composited again."""
        for image_id in self.session.image_ids:
            self.browser.model.invalidate_thumbnail(image_id)

    def menu(self, name: str) -> QMenu:
        """One of the menus "File", "Edit", "View", "Tools", "Model", "Help"."""
        if name not in self.menus:
            raise KeyError(f"no menu {name!r}; menus are {', '.join(MENU_NAMES)}")
        return self.menus[name]

    # ================================================================ the session's state, for callers
    @property
    def project(self) -> Project | None:
        return self.session.project

    @property
    def current_image_id(self) -> str | None:
        return self.session.current_id

    @property
    def current_image(self) -> LoadedImage | None:
        return self.session.current_image

    def current_document(self) -> MaskDocument | None:
        return self.session.current_document

    @property
    def image_loading(self) -> bool:
        """True while the current image is being decoded in the background (nothing shown, no painting)."""
        return self.switcher.busy

    @property
    def last_error(self) -> str | None:
        return self.errors.last_error

    @property
    def show_error_dialogs(self) -> bool:
        """Whether errors and import/export results also open a message box (tests turn it off)."""
        return self.errors.show_dialogs

    @show_error_dialogs.setter
    def show_error_dialogs(self, on: bool) -> None:
        self.errors.show_dialogs = bool(on)
        if self.import_export is not None:
            self.import_export.show_dialogs = bool(on)

    # ================================================================ projects
    def open_dialog(self) -> None:
        self.opener.open_dialog()

    def add_images_dialog(self) -> None:
        if self.project is None:
            return
        from segstudio.core.image_io import IMAGE_EXTENSIONS

        patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        files, _ = QFileDialog.getOpenFileNames(self, "Add images to the project", str(Path.home()),
                                                f"Images ({patterns})")
        if files:
            self.add_images(files)

    def populate_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = app_settings.recent_projects()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(lambda _c=False, p=path: self.opener.open_path(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def open_project(self, path: str | Path) -> bool:
        """Open a project or a plain folder of images; False (and an error shown) when it cannot be opened
        or the user keeps the current one because its edits could not be saved."""
        from segstudio.core.project import Project

        try:
            Project.open(path)  # a folder that cannot be opened is refused before anything is left
        except SegstudioError as exc:
            self.errors.report(str(exc))
            return False
        keep = self._save_or_ask()
        if keep is None:
            return False
        try:
            self.session.open_project(path, keep_unsaved=keep)
        except SegstudioError as exc:
            self.errors.report(str(exc))
            return False
        return True

    def reload_project(self) -> bool:
        """Re-read the open project (after an import), staying on the current image when it still exists."""
        if self.project is None:
            return False
        current = self.current_image_id
        ok = self.open_project(self.project.root)
        if ok and current in self.session.image_ids:
            self.show_image(current)
        return ok

    def _save_or_ask(self) -> bool | None:
        """Save every edit; while that fails ask: retry, leave (edits kept for recovery: True) or cancel (None).
        False when everything was saved."""
        while True:
            failures = self.session.save_all()
            if not failures:
                return False
            choice = self.questions.unsaved_on_close(f"{failures[0][1]}\n\nYour edits could not be saved.")
            if choice == "cancel":
                return None
            if choice == "quit":
                self.session.write_journal(force=True)
                return True

    def _on_project_changed(self, project: Project | None) -> None:
        self.canvas.set_image(None, None)
        self.recovery_banner.hide()
        self.errors.clear()
        if project is None:
            self._update_title()
            return
        app_settings.add_recent_project(project.root)
        self.canvas.set_class_colors(project.colors)
        first = self.browser.neighbour(None, 1)
        if first is not None:
            self.show_image(first)
        else:
            self._update_title()
            self.status.show_index(-1, 0)
        self.projectOpened.emit(project)

    def restore_recovery(self) -> int:
        """Put the edits a crash left behind back into their masks (one undo step each) and save them."""
        restored = self.session.restore_recovery()
        self.recovery_banner.hide()
        self.status.showMessage(f"Restored unsaved edits of {restored} image{'s' if restored != 1 else ''}", 5000)
        return restored

    def discard_recovery(self) -> None:
        self.session.discard_recovery()
        self.recovery_banner.hide()

    # ================================================================ images
    def show_image(self, image_id: str) -> None:
        """Make ``image_id`` the current image (saving the one being left). A large image that is not decoded
        yet loads in the background; ``currentImageChanged`` follows once it is really shown."""
        self.switcher.show(image_id)

    def next_image(self) -> None:
        target = self.browser.neighbour(self.current_image_id, 1)
        if target is None:
            self.status.showMessage("This is the last image", 2000)
        else:
            self.show_image(target)

    def previous_image(self) -> None:
        target = self.browser.neighbour(self.current_image_id, -1)
        if target is None:
            self.status.showMessage("This is the first image", 2000)
        else:
            self.show_image(target)

    def _on_image_changed(self, image_id: str | None) -> None:
        session = self.session
        self.canvas.set_image(session.current_image, session.current_document, None)  # drawn once the display
        self.display.image_changed()  # settings are known: kept ones, or automatic ones (large: in the background)
        self._show_prediction()
        self.status.show_index(self.browser.model.row_of(image_id) if image_id else -1, self.browser.model.rowCount())
        self._update_title()
        self._update_actions()
        self._refresh_cursor()
        if image_id and not self.switcher.busy:  # shown (or failed to open), not still being decoded
            self.currentImageChanged.emit(image_id)

    def add_images(self, files: list) -> list[str]:
        """Copy image files into the project; they appear in the browser at once. Returns their ids."""
        if self.project is None:
            return []
        try:
            result = self.session.add_images(files)
        except SegstudioError as exc:
            self.errors.report(str(exc))
            return []
        self.status.showMessage(result.summary()[:1].upper() + result.summary()[1:], 6000)
        if result.added:
            self.show_image(result.added[0])
        elif result.already_there:
            self.show_image(result.already_there[0])
        return result.added

    # ================================================================ editing
    def save_now(self) -> bool:
        """Save every edited mask now; False (error shown, edits kept) if any save failed."""
        return self.autosaver.save_now()

    def undo(self) -> None:
        self.session.undo()

    def redo(self) -> None:
        self.session.redo()

    def _after_edit(self) -> None:
        self._update_actions()
        self._refresh_cursor()

    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)

    def select_class(self, class_id: int) -> None:
        """Make ``class_id`` the painting class (keys 0-9, picker tool, class list)."""
        project = self.project
        if project is not None and self.class_panel.set_current_class(class_id):
            self.status.showMessage(class_label(class_id, project.classes[class_id].name), 1500)

    def current_class(self) -> int:
        return self.class_panel.current_class()

    def accept_prediction(self, mode: str = "unlabeled") -> bool:
        return self.training_panel.accept_prediction(mode)

    def _on_classes_changed(self) -> None:
        if self.project is not None:
            self.canvas.set_class_colors(self.project.colors)
        self._refresh_cursor()
        self.classesChanged.emit()

    # ================================================================ predictions
    def set_prediction(self, image_id: str, mask, confidence=None) -> bool:
        """Keep a model prediction for an image of the open project (shown at once when it is the current one)."""
        return self.session.set_prediction(image_id, mask, confidence)

    def set_uncertainty(self, image_id: str, value: float) -> None:
        self.session.set_uncertainty(image_id, value)

    def _on_prediction_changed(self, image_id: str) -> None:
        if image_id == self.current_image_id:
            self._show_prediction()

    def _show_prediction(self) -> None:
        image, pred = self.current_image, self.session.prediction()
        if image is not None and pred is not None and pred.mask.shape == image.shape:
            self.canvas.set_prediction(pred.mask, pred.confidence)
        self._refresh_cursor()

    # ================================================================ status bar and title
    def _refresh_cursor(self) -> None:
        self.readout.refresh()

    def _update_actions(self) -> None:
        doc = self.current_document()
        self.actions_by_name["undo"].setEnabled(bool(doc and doc.can_undo))
        self.actions_by_name["redo"].setEnabled(bool(doc and doc.can_redo))

    def _update_title(self) -> None:
        parts = [p for p in (self.current_image_id, self.project.name if self.project else None) if p]
        self.setWindowTitle(" — ".join(parts + ["segstudio[*]"]))
        self.setWindowModified(self.session.dirty)

    # ================================================================ view and tools
    def _on_tool_changed(self, name: str) -> None:
        act = self.actions_by_name.get(f"tool_{name}")
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def _set_brush_size(self, size: int) -> None:
        if self.canvas.brush_size != size:
            self.canvas.brush_size = size

    def _on_brush_size(self, size: int) -> None:
        if self.brush_spin.value() != size:
            self.brush_spin.blockSignals(True)
            self.brush_spin.setValue(size)
            self.brush_spin.blockSignals(False)

    # ================================================================ help
    def show_about(self) -> None:
        from segstudio.gui.about_dialog import AboutDialog

        dialog = AboutDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.about_dialog = dialog
        dialog.show()

    def choose_weights_folder(self) -> bool:
        """Let the user pick the folder pretrained weights are kept in (shown in About)."""
        from segstudio.engine.weights import weights_dir

        folder = QFileDialog.getExistingDirectory(self, "Folder for pretrained weights", str(weights_dir()))
        if not folder:
            return False
        app_settings.set_weights_folder(folder)
        self.status.showMessage(f"Pretrained weights are kept in {folder}", 5000)
        self.training_panel.form.start_from.look_up_weights()
        return True

    def _open_log_folder(self) -> None:
        from segstudio.gui.about_dialog import open_log_folder

        open_log_folder()

    # ================================================================ settings and closing
    def save_settings(self) -> None:
        save_window_settings(self)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Ask while training; save every edit (if that fails ask: retry / leave keeping them for recovery /
        cancel); then stop every background job and join the threads."""
        doc = self.current_document()
        if doc is not None and doc.in_edit:
            doc.end_edit()
        if not self.training_panel.may_close():
            event.ignore()
            return
        keep = self._save_or_ask()
        if keep is None:
            event.ignore()
            return
        self.autosaver.stop()
        self.save_settings()
        try:
            self.session.close_project(keep_unsaved=True)
        except SaveError:  # pragma: no cover - keep_unsaved never raises it
            pass
        self.training_panel.shutdown()
        if not self.runner.shutdown(15.0):
            log.warning("some background work did not stop within 15 s")
        self.errors.close_box()
        forget_reporter(self.errors)
        super().closeEvent(event)
