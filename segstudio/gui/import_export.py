"""File > Import / File > Export: interchange formats run on the job runner with a progress dialog.

The work itself is ``segstudio.core.formats``; the GUI only asks for the source or destination, shows
progress, shows the warnings at the end and reloads the session's project so new images, masks and
classes appear. The format modules (numpy, Pillow) are imported when the menus are built, after the
window is on screen.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QProgressDialog, QWidget

from segstudio.core.errors import MaskNeedsMappingError, SegstudioError
from segstudio.gui.errors import ErrorReporter
from segstudio.gui.jobs import Job, JobRunner
from segstudio.gui.questions import Questions
from segstudio.session import Session

log = logging.getLogger(__name__)
MAX_WARNINGS_SHOWN = 200
JOB_KEY = "import-export"


class ImportExportController(QObject):
    """Runs one import or export at a time; ``finished(report)`` after the project was reloaded."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, session: Session, runner: JobRunner, errors: ErrorReporter, questions: Questions,
                 save_edits: Callable[[], bool], reload_project: Callable[[], bool], window: QWidget) -> None:
        super().__init__(window)
        self.session, self.runner, self.errors, self.questions = session, runner, errors, questions
        self.save_edits, self.reload_project, self.window = save_edits, reload_project, window
        self.progress_dialog: QProgressDialog | None = None
        self.last_report = None
        self.message_box: QMessageBox | None = None
        #: show the result in a message box (tests turn it off with the error dialogs)
        self.show_dialogs = True
        self._pending = None

    @property
    def busy(self) -> bool:
        return self.runner.pending(JOB_KEY)

    # ------------------------------------------------------------------ asking the user
    def _project_root(self) -> Path | None:
        if self.session.project is None:
            self.errors.report("Open a project first.")
            return None
        return Path(self.session.project.root)

    def import_dialog(self, fmt: str) -> None:
        """Ask for the source of a ``fmt`` import, then run it."""
        from segstudio.core.formats import FORMAT_TITLES, ImportOptions

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
        if fmt == "masks":
            value_map = self._ask_value_map(Path(source))
            if value_map is False:
                return
            options.value_map = value_map or None
        self.start_import(fmt, source, options)

    def _ask_value_map(self, source: Path):
        """For mask folders whose masks need a mapping: ask once. None = not needed, False = cancelled."""
        from segstudio.core.formats.mask_folder import MASK_DIRS, MASK_SUFFIXES
        from segstudio.core.mask_io import parse_value_map, read_mask

        num_classes = self.session.project.num_classes if self.session.project else 0
        for name in MASK_DIRS:
            folder = source / name
            if not folder.is_dir():
                continue
            first = next((p for p in sorted(folder.rglob("*")) if p.suffix.lower() in MASK_SUFFIXES), None)
            if first is None:
                return None
            try:
                read_mask(first, num_classes=num_classes)
            except MaskNeedsMappingError as exc:
                text = self.questions.value_map(exc, num_classes)
                if not text:
                    return False
                try:
                    return parse_value_map(text)
                except ValueError as err:
                    self.errors.report(f"value mapping: {err}")
                    return False
            except SegstudioError:
                return None  # the import reports it, naming the file
            return None
        return None

    def export_dialog(self, fmt: str) -> None:
        """Ask for the destination folder of a ``fmt`` export, then run it."""
        from segstudio.core.formats import FORMAT_TITLES

        root = self._project_root()
        if root is None or self.busy:
            return
        dest = QFileDialog.getExistingDirectory(self.window, f"Export {FORMAT_TITLES[fmt]} into folder",
                                                str(root.parent))
        if not dest:
            return
        overwrite = False
        if Path(dest).is_dir() and any(Path(dest).iterdir()):
            overwrite = self.questions.confirm("Folder not empty", f"{dest} is not empty. Replace an earlier export there?")
            if not overwrite:
                return
        self.start_export(fmt, dest, overwrite)

    # ------------------------------------------------------------------ running
    def start_import(self, fmt: str, source: str | Path, options=None) -> bool:
        """Import ``source`` into the open project in the background."""
        from segstudio.core.formats import FORMAT_TITLES, ImportOptions, import_annotations

        root = self._project_root()
        if root is None or self.busy or not self.save_edits():
            return False
        options = options or ImportOptions()
        self._pending = (fmt, Path(source), options)
        log.info("importing %s from %s into %s", fmt, source, root)
        return self._start(f"Importing {FORMAT_TITLES[fmt]}…",
                           lambda job: import_annotations(fmt, source, root, options, **self._hooks(job)))

    def start_export(self, fmt: str, dest: str | Path, overwrite: bool = False) -> bool:
        """Export the open project's labeled images to ``dest`` in the background."""
        from segstudio.core.formats import FORMAT_TITLES, export_annotations

        root = self._project_root()
        if root is None or self.busy or not self.save_edits():
            return False
        self._pending = None
        log.info("exporting %s of %s to %s", fmt, root, dest)
        return self._start(f"Exporting {FORMAT_TITLES[fmt]}…",
                           lambda job: export_annotations(fmt, root, dest, overwrite=overwrite, **self._hooks(job)))

    @staticmethod
    def _hooks(job: Job) -> dict:
        return {"progress": lambda done, total, what: job.report((done, total, what)), "cancel": lambda: job.cancelled}

    def _start(self, label: str, work: Callable[[Job], object]) -> bool:
        dialog = QProgressDialog(label, "Cancel", 0, 0, self.window)
        dialog.setWindowTitle("segstudio")
        dialog.setMinimumWidth(420)  # a progress dialog keeps its minimum width
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        self.progress_dialog = dialog
        job = self.runner.submit(JOB_KEY, work, lane="batch", on_progress=self._on_progress, on_done=self._on_done,
                                 on_error=self._on_failed)
        dialog.canceled.connect(job.token.cancel)
        return True

    def cancel(self) -> None:
        job = self.runner.job(JOB_KEY)
        if job is not None:
            job.token.cancel()

    def _on_progress(self, payload) -> None:
        if self.progress_dialog is not None and payload is not None:
            done, total, what = payload
            self.progress_dialog.setMaximum(total)
            self.progress_dialog.setValue(done)
            self.progress_dialog.setLabelText(f"{done} of {total}: {what}")

    def _close_dialog(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def _on_failed(self, exc: BaseException, trace: str) -> None:
        self._close_dialog()
        message = str(exc) if isinstance(exc, SegstudioError) else f"{type(exc).__name__}: {exc}"
        self.errors.report(message, None if isinstance(exc, SegstudioError) else trace)
        self.failed.emit(message)

    def _on_done(self, report) -> None:
        from segstudio.core.formats import ImportReport

        self._close_dialog()
        self.last_report = report
        pending, self._pending = self._pending, None
        log.info("%s", report.summary())
        for warning in report.warnings:
            log.warning("%s", warning)
        if isinstance(report, ImportReport):
            self.reload_project()
            if pending is not None and report.existing and not pending[2].overwrite and self.questions.confirm(
                    "Replace existing?",
                    f"{report.existing} image(s) already had masks or different images in the project and were "
                    "skipped. Import them again, replacing what is there?"):
                fmt, source, options = pending
                options.overwrite = True
                self.start_import(fmt, source, options)
                return
        self._show_result(report)
        self.finished.emit(report)

    def _show_result(self, report) -> None:
        summary = report.summary()
        self.errors.status_bar.showMessage(summary, 10000)
        if not self.show_dialogs:
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


def build_menus(controller: ImportExportController, parent: QWidget) -> tuple[QMenu, QMenu]:
    """The File > Import and File > Export submenus, one action per format (imports the format modules)."""
    from segstudio.core.formats import EXPORT_FORMATS, FORMAT_TITLES, IMPORT_FORMATS

    import_menu, export_menu = QMenu("&Import", parent), QMenu("&Export", parent)
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
    return import_menu, export_menu
