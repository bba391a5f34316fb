"""The main window: image browser, canvas, classes and training docks; saving, undo, recovery."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QInputDialog, QMainWindow, QMenu, QMessageBox, QVBoxLayout, QWidget,
)

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import MaskNeedsMappingError, SegstudioError
from segstudio.gui import settings as app_settings
from segstudio.gui.autosave import AutoSaver
from segstudio.gui.canvas.canvas_view import CanvasView
from segstudio.gui.class_panel import ClassPanel
from segstudio.gui.documents import DocumentStore
from segstudio.gui.image_browser import ImageBrowser
from segstudio.gui.image_cache import ImageCache
from segstudio.gui.main_actions import MENU_NAMES, build_actions
from segstudio.gui.recovery import INTERVAL_MS, RecoveryJournal
from segstudio.gui.recovery_banner import RecoveryBanner
from segstudio.gui.status_bar import StatusBar
from segstudio.gui.window_classes import ClassesMixin
from segstudio.gui.window_images import ImagesMixin
from segstudio.gui.window_predictions import PredictionsMixin
from segstudio.gui.window_saving import SavingMixin

if TYPE_CHECKING:  # numpy, Pillow and OpenCV are imported when the first project opens (fast startup)
    import numpy as np

    from segstudio.core.image_io import LoadedImage
    from segstudio.core.project import Project


class MainWindow(ImagesMixin, SavingMixin, ClassesMixin, PredictionsMixin, QMainWindow):
    """The annotation window (see GUI_API.md for the contract other parts rely on)."""

    projectOpened = Signal(object)
    currentImageChanged = Signal(str)
    maskSaved = Signal(str)
    classesChanged = Signal()
    errorReported = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, defer_extensions: bool = False) -> None:
        """``defer_extensions``: leave the File > Import/Export menus (whose formats code pulls in numpy and
        Pillow) to :meth:`install_deferred_extensions`, called by ``run_app`` once the window is on screen."""
        super().__init__(parent)
        self.setObjectName("segstudio_main_window")
        self.setWindowTitle("segstudio")
        self.project: Project | None = None
        self.current_image_id: str | None = None
        self.current_image: LoadedImage | None = None
        self.documents = DocumentStore()
        self.predictions: OrderedDict[str, tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self.image_cache = ImageCache()
        self.journal: RecoveryJournal | None = None
        self.last_error: str | None = None
        self.show_error_dialogs = True
        self._error_box: QMessageBox | None = None
        self.actions_by_name: dict = {}
        self.menus: dict[str, QMenu] = {}

        self.canvas = CanvasView(self)
        self.recovery_banner = RecoveryBanner(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.recovery_banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.browser = ImageBrowser(self)
        self.class_panel = ClassPanel(self)
        self.browser_dock = self._dock("Images", "dock_images", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.classes_dock = self._dock("Classes", "dock_classes", self.class_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_dock = self._dock("Training", "dock_training", QWidget(), Qt.DockWidgetArea.RightDockWidgetArea)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        build_actions(self)
        for dock in (self.browser_dock, self.classes_dock, self.training_dock):
            self.docks_menu.addAction(dock.toggleViewAction())
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(1400, 880)

        self.autosaver = AutoSaver(self._autosave, parent=self)
        self.journal_timer = QTimer(self, interval=INTERVAL_MS)
        self.journal_timer.timeout.connect(self.write_journal)
        self.journal_timer.start()
        self._init_image_loading()
        self._connect()
        self._restore_tool_settings()
        self.setAcceptDrops(True)
        self.canvas.viewport().installEventFilter(self)  # files dropped on the image land here too
        self._update_actions()

        try:
            from segstudio.gui.training.panel import install_training_panel
            install_training_panel(self)
        except ImportError:
            pass
        self._extensions_pending = True
        if not defer_extensions:
            self.install_deferred_extensions()
        try:
            from segstudio.gui.about_dialog import install_about
            install_about(self)
        except ImportError:
            pass
        self.resizeDocks([self.browser_dock, self.classes_dock], [285, 390], Qt.Orientation.Horizontal)
        self.resizeDocks([self.classes_dock, self.training_dock], [170, 600], Qt.Orientation.Vertical)
        self._restore_layout()

    def install_deferred_extensions(self) -> None:
        """Install the File > Import/Export menus (once); see ``defer_extensions``."""
        if not self._extensions_pending:
            return
        self._extensions_pending = False
        try:
            from segstudio.gui.import_export import install_import_export
            install_import_export(self)
        except ImportError:
            pass

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
        c = self.canvas
        c.cursorMoved.connect(self._on_cursor)
        c.editFinished.connect(self._on_edit_finished)
        c.classPicked.connect(self.select_class)
        c.toolChanged.connect(self._on_tool_changed)
        c.brushSizeChanged.connect(self._on_brush_size)
        c.zoomChanged.connect(self.status.show_zoom)
        self.browser.imageActivated.connect(self.show_image)
        self.class_panel.currentClassChanged.connect(self.canvas.set_current_class)
        self.class_panel.addRequested.connect(self.add_class)
        self.class_panel.renameRequested.connect(self.rename_class)
        self.class_panel.recolorRequested.connect(self.recolor_class)
        self.class_panel.deleteRequested.connect(lambda cid, to: self.delete_class(cid, None if to < 0 else to))
        self.brush_spin.valueChanged.connect(self._set_brush_size)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_mask_opacity(v / 100.0))
        self.recovery_banner.restoreClicked.connect(self.restore_recovery)
        self.recovery_banner.discardClicked.connect(self.discard_recovery)

    def menu(self, name: str) -> QMenu:
        """One of the menus "File", "Edit", "View", "Tools", "Model", "Help" (others may add actions)."""
        if name not in self.menus:
            raise KeyError(f"no menu {name!r}; menus are {', '.join(MENU_NAMES)}")
        return self.menus[name]

    # ================================================================ errors and questions
    def report_error(self, message: str) -> None:
        """Show an error without blocking: status bar, ``last_error``, ``errorReported`` and a non-modal box."""
        self.last_error = message
        self.status.show_error(message)
        self.errorReported.emit(message)
        if self._error_box_visible():
            self._error_box.setText(message)
        elif self.show_error_dialogs:
            box = QMessageBox(QMessageBox.Icon.Warning, "segstudio", message, QMessageBox.StandardButton.Ok, self)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
            box.destroyed.connect(self._forget_error_box)
            box.show()
            self._error_box = box

    def _forget_error_box(self, *_args) -> None:
        self._error_box = None

    def _error_box_visible(self) -> bool:
        try:
            return self._error_box is not None and self._error_box.isVisible()
        except RuntimeError:  # deleted on close
            self._error_box = None
            return False

    def clear_error(self) -> None:
        self.last_error = None
        self.status.clear_error()

    def confirm(self, title: str, text: str) -> bool:
        """Ask a yes/no question (tests replace this method)."""
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def ask_unsaved_on_close(self, message: str) -> str:
        """Saving failed while closing: "retry", "quit" (edits stay in the recovery journal) or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes", message, parent=self)
        retry = box.addButton("Try Again", QMessageBox.ButtonRole.AcceptRole)
        quit_ = box.addButton("Quit (keep edits for recovery)", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is retry:
            return "retry"
        return "quit" if box.clickedButton() is quit_ else "cancel"

    def ask_value_map(self, error: MaskNeedsMappingError) -> str | None:
        """Ask how a foreign mask's values map to classes, e.g. '0:0,255:1'."""
        values = ", ".join(str(v) for v in error.values[:12])
        text, ok = QInputDialog.getText(
            self, "Mask needs a value mapping",
            f"{error.path.name} was not written by segstudio (values {values}).\n"
            "Map each value to a class id (value:class, comma separated; unmapped values become unlabeled):",
            text=",".join(f"{v}:{min(i, len(self.project.classes) - 1) if self.project else i}"
                          for i, v in enumerate(error.values[:12])))
        return text.strip() if ok and text.strip() else None

    # ================================================================ projects
    def open_dialog(self) -> None:
        start = str(self.project.root) if self.project else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images or a project", start)
        if folder:
            self.open_project(folder)

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
            act.triggered.connect(lambda _c=False, p=path: self.open_project(p))
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def open_project(self, path: str | Path) -> bool:
        """Open a project or a plain folder of images; False (and an error shown) when it cannot be opened."""
        from segstudio.core.project import Project

        try:
            project = Project.open(path)
        except SegstudioError as exc:
            self.report_error(str(exc))
            return False
        if not self._leave_project():
            return False
        self.project = project
        self.documents.clear()
        self.predictions.clear()
        self.image_cache.clear()
        self.current_image_id = None
        self.current_image = None
        self.canvas.set_image(None, None)
        self.browser.set_project(project)
        self._refresh_classes(emit=False)
        self.journal = RecoveryJournal(project.root)
        self._offer_recovery()
        app_settings.add_recent_project(project.root)
        self.clear_error()
        first = self.browser.neighbour(None, 1)
        if first is not None:
            self.show_image(first)
        else:
            self._update_title()
            self.status.show_index(-1, 0)
        self.projectOpened.emit(project)
        return True

    def _leave_project(self) -> bool:
        """Save everything before another project replaces this one; False if the user cancels."""
        if self.project is None:
            return True
        if not self._save_all_or_ask():
            return False
        if self.journal is not None:
            self.journal.close()
        return True

    def _save_all_or_ask(self) -> bool:
        """Save every edit; while that fails ask (retry / quit keeping the recovery journal / cancel).
        False when the user cancels."""
        while not self.save_now():
            choice = self.ask_unsaved_on_close(f"{self.last_error}\n\nYour edits could not be saved.")
            if choice == "cancel":
                return False
            if choice == "quit":
                self.write_journal(force=True)
                break
        return True

    # ================================================================ view and tools
    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(name)

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

    def set_mask_visible(self, on: bool) -> None:
        self.canvas.set_mask_visible(on)

    def set_prediction_visible(self, on: bool) -> None:
        self.canvas.set_prediction_visible(on)

    def _on_cursor(self, x: int, y: int) -> None:
        image, doc = self.current_image, self.current_document()
        if image is None or x < 0:
            self.status.show_cursor(-1, -1, None, None)
            return
        name = None
        if doc is not None and 0 <= y < doc.shape[0] and 0 <= x < doc.shape[1]:
            cid = int(doc.mask[y, x])
            if cid == IGNORE_INDEX:
                name = "unlabeled"
            elif self.project is not None and cid < self.project.num_classes:
                name = self.project.classes[cid].name
            else:
                name = f"class {cid}"
        self.status.show_cursor(x, y, image.raw_value(x, y), name)

    def _update_actions(self) -> None:
        doc = self.current_document()
        self.actions_by_name["undo"].setEnabled(bool(doc and doc.can_undo))
        self.actions_by_name["redo"].setEnabled(bool(doc and doc.can_redo))

    def _update_title(self) -> None:
        parts = []
        if self.current_image_id:
            parts.append(self.current_image_id)
        if self.project is not None:
            parts.append(self.project.name)
        dirty = any(True for _ in self.documents.dirty_items())
        self.setWindowTitle(" — ".join(parts + ["segstudio"]) + ("  •" if dirty else ""))

    # ================================================================ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        from segstudio.core.image_io import IMAGE_EXTENSIONS, is_image_file

        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        files = [p for p in paths if p.is_file() and is_image_file(p)]
        folders = [p for p in paths if p.is_dir()]
        event.acceptProposedAction()
        if files:
            self.add_images(files)
        elif folders:
            self.open_project(folders[0])
        else:
            self.report_error("nothing to open: drop a folder or image files "
                              f"({', '.join(IMAGE_EXTENSIONS)})")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.canvas.viewport():
            kind = event.type()
            if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                self.dragEnterEvent(event)
                return event.isAccepted()
            if kind == QEvent.Type.Drop:
                self.dropEvent(event)
                return True
        return super().eventFilter(watched, event)

    def add_images(self, files: list) -> list[str]:
        """Copy image files into the project; they appear in the browser at once. Returns their ids."""
        if self.project is None:
            return []
        try:
            added = self.project.add_images(files)
        except (SegstudioError, OSError) as exc:
            self.report_error(f"cannot add images: {exc}")
            return []
        ids = [self.project.image_id(p) for p in added]
        self.browser.model.add_images(ids)
        if ids:
            self.status.showMessage(f"Added {len(ids)} image(s) to the project", 4000)
            self.show_image(ids[0])
        return ids

    # ================================================================ settings and closing
    def _restore_tool_settings(self) -> None:
        r = app_settings.read_value
        self.canvas.brush_size = r("tools/brush_size", self.canvas.brush_size, int)  # the canvas clamps both
        self.brush_spin.setValue(self.canvas.brush_size)
        self.canvas.wand_tolerance = r("tools/wand_tolerance", self.canvas.wand_tolerance, int)
        opacity = max(0.0, min(1.0, r("tools/mask_opacity", 0.5, float)))
        self.opacity_slider.setValue(round(opacity * 100))
        self.canvas.set_mask_opacity(opacity)
        tool = r("tools/tool", "brush", str)
        if f"tool_{tool}" in self.actions_by_name:
            self.actions_by_name[f"tool_{tool}"].setChecked(True)
            self.canvas.set_tool(tool)
        self.actions_by_name["show_mask"].setChecked(r("tools/mask_visible", True, bool))
        self.actions_by_name["show_prediction"].setChecked(r("tools/prediction_visible", True, bool))

    def _restore_layout(self) -> None:
        geometry = app_settings.read_value("window/geometry", None)
        state = app_settings.read_value("window/state", None)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def save_settings(self) -> None:
        app_settings.write_values({
            "window/geometry": self.saveGeometry(),
            "window/state": self.saveState(),
            "tools/tool": self.canvas.tool,
            "tools/brush_size": int(self.canvas.brush_size),
            "tools/wand_tolerance": int(self.canvas.wand_tolerance),
            "tools/mask_opacity": self.opacity_slider.value() / 100.0,
            "tools/mask_visible": self.actions_by_name["show_mask"].isChecked(),
            "tools/prediction_visible": self.actions_by_name["show_prediction"].isChecked(),
        })

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Save every edit; if that fails ask (retry / quit keeping the recovery journal / cancel)."""
        doc = self.current_document()
        if doc is not None and doc.in_edit:
            doc.end_edit()
        if not self._save_all_or_ask():
            event.ignore()
            return
        self.autosaver.stop()
        self.journal_timer.stop()
        self.save_settings()
        if self.journal is not None:
            self.journal.close()
        self.image_cache.clear()
        self.browser.model.loader.new_generation()
        self.browser.model.loader.wait(3000)
        if self._error_box_visible():
            self._error_box.close()
        super().closeEvent(event)
