"""File > Import / File > Export: interchange formats run in a background thread with a progress dialog.

``install_import_export(main_window)`` adds the menus and keeps an :class:`ImportExportController`
as ``main_window.import_export``. The work itself is ``segstudio.core.formats``; the GUI only asks
for the source or destination, shows progress, shows the warnings at the end and reopens the
project so new images, masks and classes appear.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from segstudio.core.errors import MaskNeedsMappingError, SegstudioError
from segstudio.core.formats import (
    EXPORT_FORMATS, FORMAT_TITLES, IMPORT_FORMATS, ExportReport, ImportOptions, ImportReport, export_annotations,
    import_annotations,
)
from segstudio.core.mask_io import parse_value_map, read_mask

MAX_WARNINGS_SHOWN = 200


class _Worker(QObject):
    """Runs one import/export call in a QThread; reports progress and the result as signals."""

    progress = Signal(int, int, str)
    done = Signal(object)  # ImportReport | ExportReport
    failed = Signal(str)

    def __init__(self, job: Callable[..., object]) -> None:
        super().__init__()
        self._job = job
        self.cancel_event = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            report = self._job(progress=lambda d, t, w: self.progress.emit(d, t, w),
                               cancel=self.cancel_event.is_set)
        except SegstudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - never let a worker die silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(report)


class ImportExportController(QObject):
    """Owns the menus' actions and the one running import or export."""

    finished = Signal(object)  # the report, after the project was reopened
    failed = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.thread: QThread | None = None
        self.worker: _Worker | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.last_report: ImportReport | ExportReport | None = None
        self.message_box: QMessageBox | None = None
        self._pending: tuple[str, str, Path, ImportOptions] | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None

    # ------------------------------------------------------------------ asking the user
    def _project_root(self) -> Path | None:
        project = self.window.project
        if project is None:
            self.window.report_error("Open a project first.")
            return None
        return Path(project.root)

    def import_dialog(self, fmt: str) -> None:
        """Ask for the source of a ``fmt`` import, then run it."""
        root = self._project_root()
        if root is None or self.busy:
            return
        title = f"Import {FORMAT_TITLES[fmt]}"
        if fmt == "coco":
            source, _ = QFileDialog.getOpenFileName(self.window, title + ": annotation file", str(root.parent),
                                                    "COCO annotations (*.json);;All files (*)")
        else:
            hint = {"labelme": "folder of LabelMe .json files", "voc": "Pascal VOC folder",
                    "masks": "folder with images/ and masks/"}[fmt]
            source = QFileDialog.getExistingDirectory(self.window, f"{title}: {hint}", str(root.parent))
        if not source:
            return
        options = ImportOptions()
        if fmt in ("masks",):
            value_map = self._ask_value_map(Path(source))
            if value_map is False:
                return
            options.value_map = value_map or None
        self.start_import(fmt, source, options)

    def _ask_value_map(self, source: Path):
        """For mask folders whose masks need a mapping: ask once. None = not needed, False = cancelled."""
        from segstudio.core.formats.mask_folder import MASK_DIRS, MASK_SUFFIXES

        for name in MASK_DIRS:
            folder = source / name
            if not folder.is_dir():
                continue
            first = next((p for p in sorted(folder.rglob("*")) if p.suffix.lower() in MASK_SUFFIXES), None)
            if first is None:
                return None
            try:
                read_mask(first, num_classes=self.window.project.num_classes)
            except MaskNeedsMappingError as exc:
                text = self.window.ask_value_map(exc)
                if not text:
                    return False
                try:
                    return parse_value_map(text)
                except ValueError as err:
                    self.window.report_error(f"value mapping: {err}")
                    return False
            except SegstudioError:
                return None  # the import reports it, naming the file
            return None
        return None

    def export_dialog(self, fmt: str) -> None:
        """Ask for the destination folder of a ``fmt`` export, then run it."""
        root = self._project_root()
        if root is None or self.busy:
            return
        dest = QFileDialog.getExistingDirectory(self.window, f"Export {FORMAT_TITLES[fmt]} into folder",
                                                str(root.parent))
        if not dest:
            return
        overwrite = False
        if Path(dest).is_dir() and any(Path(dest).iterdir()):
            overwrite = self.window.confirm("Folder not empty",
                                            f"{dest} is not empty. Replace an earlier export there?")
            if not overwrite:
                return
        self.start_export(fmt, dest, overwrite)

    # ------------------------------------------------------------------ running
    def start_import(self, fmt: str, source: str | Path, options: ImportOptions | None = None) -> bool:
        """Import ``source`` into the open project in the background."""
        root = self._project_root()
        if root is None or self.busy or not self.window.save_now():
            return False
        options = options or ImportOptions()
        self._pending = (fmt, "import", Path(source), options)
        return self._start(f"Importing {FORMAT_TITLES[fmt]}…",
                           lambda **kw: import_annotations(fmt, source, root, options, **kw))

    def start_export(self, fmt: str, dest: str | Path, overwrite: bool = False) -> bool:
        """Export the open project's labeled images to ``dest`` in the background."""
        root = self._project_root()
        if root is None or self.busy or not self.window.save_now():
            return False
        self._pending = None
        return self._start(f"Exporting {FORMAT_TITLES[fmt]}…",
                           lambda **kw: export_annotations(fmt, root, dest, overwrite=overwrite, **kw))

    def _start(self, label: str, job: Callable[..., object]) -> bool:
        dialog = QProgressDialog(label, "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("segstudio")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        self.progress_dialog = dialog
        thread = QThread(self)
        worker = _Worker(job)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        dialog.canceled.connect(worker.cancel_event.set)
        self.thread, self.worker = thread, worker
        thread.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel_event.set()

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.setMaximum(total)
            self.progress_dialog.setValue(done)
            self.progress_dialog.setLabelText(f"{done} of {total}: {what}")

    def _stop_thread(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread.deleteLater()
        if self.worker is not None:
            self.worker.deleteLater()
        self.thread = self.worker = None

    def _on_failed(self, message: str) -> None:
        self._stop_thread()
        self.window.report_error(message)
        self.failed.emit(message)

    def _on_done(self, report) -> None:
        self._stop_thread()
        self.last_report = report
        pending, self._pending = self._pending, None
        if isinstance(report, ImportReport):
            if self.window.project is not None:
                self.window.open_project(self.window.project.root)
            if pending is not None and report.existing and not pending[3].overwrite and self.window.confirm(
                    "Replace existing?",
                    f"{report.existing} image(s) already had masks or different images in the project and were "
                    "skipped. Import them again, replacing what is there?"):
                fmt, _, source, options = pending
                options.overwrite = True
                self.start_import(fmt, source, options)
                return
        self._show_result(report)
        self.finished.emit(report)

    def _show_result(self, report) -> None:
        summary = report.summary()
        status = getattr(self.window, "statusBar", None)
        if callable(status):
            status().showMessage(summary, 10000)
        if not getattr(self.window, "show_error_dialogs", True):
            return
        icon = QMessageBox.Icon.Warning if report.warnings else QMessageBox.Icon.Information
        box = QMessageBox(icon, "segstudio", summary[:1].upper() + summary[1:], QMessageBox.StandardButton.Ok,
                          self.window)
        if report.warnings:
            shown = report.warnings[:MAX_WARNINGS_SHOWN]
            more = len(report.warnings) - len(shown)
            first = "\n".join(w if len(w) < 300 else w[:300] + "…" for w in shown[:3])
            rest = f"\n… {len(report.warnings) - 3} more; see Details." if len(report.warnings) > 3 else ""
            box.setInformativeText(first + rest)
            box.setDetailedText("\n".join(shown) + (f"\n… and {more} more" if more > 0 else ""))
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.show()
        self.message_box = box


def install_import_export(main_window) -> ImportExportController:
    """Add File > Import and File > Export menus to the main window."""
    controller = ImportExportController(main_window)
    main_window.import_export = controller
    file_menu = main_window.menu("File")
    before = getattr(main_window, "file_quit_separator", None)
    import_menu = file_menu.addMenu("&Import") if before is None else None
    export_menu = file_menu.addMenu("&Export") if before is None else None
    if before is not None:
        from PySide6.QtWidgets import QMenu

        import_menu = QMenu("&Import", file_menu)
        export_menu = QMenu("&Export", file_menu)
        file_menu.insertMenu(before, import_menu)
        file_menu.insertMenu(before, export_menu)
    import_menu.setObjectName("menu_import")
    export_menu.setObjectName("menu_export")
    for fmt in IMPORT_FORMATS:
        action = import_menu.addAction(f"{FORMAT_TITLES[fmt]}…")
        action.setObjectName(f"import_{fmt}")
        action.triggered.connect(lambda _checked=False, f=fmt: controller.import_dialog(f))
    for fmt in EXPORT_FORMATS:
        action = export_menu.addAction(f"{FORMAT_TITLES[fmt]}…")
        action.setObjectName(f"export_{fmt}")
        action.triggered.connect(lambda _checked=False, f=fmt: controller.export_dialog(f))
    main_window.import_menu = import_menu
    main_window.export_menu = export_menu
    return controller
