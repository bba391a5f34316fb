"""File › New Project… (and the classes question on a folder without segstudio.json): choose the images,
where the project lives and its classes, see the images, then Create.

The logic is Qt-free in :mod:`segstudio.session.new_project` (validation, the image survey, building the
project as a transaction); this dialog edits a :class:`NewProjectPlan`, runs the survey and the thumbnails
on the job runner, keeps Create disabled with the reason beside it while the plan is invalid, and hands the
plan to ``create(plan, replace_existing) -> error or None`` (the window opens the project through the
session). Nothing is written before Create; Cancel writes nothing. Shown with ``open()``: it never blocks.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSizePolicy,
                               QTableWidget, QToolButton, QVBoxLayout, QWidget)

from segstudio.gui.class_panel import color_swatch
from segstudio.session.new_project import (NewProjectPlan, default_class_specs, next_class_spec, plan_problem,
                                           survey_images)

if TYPE_CHECKING:
    from segstudio.gui.jobs import JobRunner
    from segstudio.gui.questions import Questions
    from segstudio.session.new_project import ImageSurvey

#: thumbnails made for the first images of the list
THUMBNAILS = 24
THUMB_PX = 40
ERROR_STYLE = "color: #d9534f;"


class NewProjectDialog(QDialog):
    """See the module docstring. ``folder`` pre-fills the image folder (the question on a plain folder)."""

    surveyed = Signal()  # the image list is up to date (tests wait for it)

    def __init__(self, runner: JobRunner, questions: Questions,
                 create: Callable[[NewProjectPlan, bool], str | None], parent: QWidget | None = None, *,
                 folder: str | Path | None = None, start_dir: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("new_project_dialog")
        self.runner, self.questions, self._create = runner, questions, create
        self.plan = NewProjectPlan(image_folder=Path(folder).absolute() if folder else None)
        self.survey: ImageSurvey | None = None
        self._start_dir = Path(start_dir or Path.home())
        self._key = f"new_project:{id(self)}"
        self.setWindowTitle("Classes for this folder" if folder else "New Project")
        self.setAcceptDrops(True)

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        if folder:
            self.intro.setText(f"<b>{self.plan.image_folder.name}</b> is not a segstudio project yet. Name the classes "
                               "you will paint; Create writes segstudio.json there. Cancel leaves the folder "
                               "untouched.")
        else:
            self.intro.setText("Choose a folder of images (or drop images or a folder here), name the classes you "
                               "will paint, check the images, then Create.")
        self.folder_label, self.location_label = QLabel(), QLabel()
        for label in (self.folder_label, self.location_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.folder_button = QPushButton("Choose Folder…")
        self.folder_button.clicked.connect(self.choose_image_folder)
        self.location_button = QPushButton("Elsewhere…")
        self.location_button.setToolTip("Keep the project in another folder: the images are copied into its images/")
        self.location_button.clicked.connect(self.choose_location)
        form = QFormLayout()
        form.addRow("Images", _row(self.folder_label, self.folder_button))
        form.addRow("Project folder", _row(self.location_label, self.location_button))

        self.table = QTableWidget(0, 2)
        self.table.setObjectName("new_project_classes")
        self.table.setHorizontalHeaderLabels(["Class", "Colour"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.name_edits: list[QLineEdit] = []
        self.color_buttons: list[QToolButton] = []
        self.add_button = QPushButton("Add Class")
        self.add_button.clicked.connect(self.add_class)
        self.remove_button = QPushButton("Remove Class")
        self.remove_button.clicked.connect(self.remove_class)
        self.copy_button = QPushButton("Copy Classes from Project…")
        self.copy_button.clicked.connect(self.copy_classes)
        class_buttons = _row(self.add_button, self.remove_button, self.copy_button, stretch_first=False)

        self.images = QListWidget()
        self.images.setObjectName("new_project_images")
        self.images.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.images.setUniformItemSizes(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.first_preview = QLabel()
        self.first_preview.setFixedSize(160, 160)
        self.first_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        preview = QHBoxLayout()
        preview.addWidget(self.images, 1)
        preview.addWidget(self.first_preview)

        self.reason = QLabel()
        self.reason.setObjectName("new_project_reason")
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet(ERROR_STYLE)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.create_project)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(_heading("Classes"))
        layout.addWidget(self.table, 1)
        layout.addWidget(class_buttons)
        layout.addWidget(_heading("Images"))
        layout.addLayout(preview, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(720, 680)
        self.set_classes(default_class_specs())
        self._plan_changed()

    # ================================================================ classes
    def set_classes(self, specs) -> None:
        """Fill the table with these class rows (name, colour)."""
        self.plan.classes = [copy.copy(s) for s in specs]
        self.table.setRowCount(0)
        self.name_edits.clear()
        self.color_buttons.clear()
        for spec in self.plan.classes:
            self._append_row(spec)
        self.validate()

    def _append_row(self, spec) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QLineEdit(spec.name)
        name.setObjectName(f"class_name_{row}")
        name.textEdited.connect(lambda text, s=spec: self._rename(s, text))
        name.installEventFilter(self)
        button = QToolButton()
        button.setObjectName(f"class_color_{row}")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        button.clicked.connect(lambda _c=False, s=spec: self.pick_color(s))
        _show_color(button, spec.color)
        self.table.setCellWidget(row, 0, name)
        self.table.setCellWidget(row, 1, button)
        self.name_edits.append(name)
        self.color_buttons.append(button)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.FocusIn and watched in self.name_edits:
            self.table.selectRow(self.name_edits.index(watched))  # Remove Class removes the row being typed in
        return False

    def _rename(self, spec, text: str) -> None:
        spec.name = text
        self.validate()

    def add_class(self) -> None:
        spec = next_class_spec(self.plan.classes)
        self.plan.classes.append(spec)
        self._append_row(spec)
        edit = self.name_edits[-1]
        edit.setFocus()
        edit.selectAll()
        self.validate()

    def remove_class(self) -> None:
        """Remove the selected class row (the last one when none is selected)."""
        rows = self.table.selectionModel().selectedRows()
        row = rows[0].row() if rows else len(self.plan.classes) - 1
        if row < 0:
            return
        del self.plan.classes[row]
        self.set_classes(self.plan.classes)

    def pick_color(self, spec) -> None:
        color = self.questions.color(spec.color)
        if color:
            spec.color = color
            _show_color(self.color_buttons[self.plan.classes.index(spec)], color)
            self.validate()

    def copy_classes(self) -> None:
        """Take the classes (names and colours) of another project."""
        from segstudio.core.errors import SegstudioError
        from segstudio.core.project import read_project_classes
        from segstudio.session.new_project import ClassSpec

        folder = self.questions.choose_folder("Copy classes from project", str(self._start_dir))
        if not folder:
            return
        try:
            classes = read_project_classes(folder)
        except SegstudioError as exc:
            self.reason.setText(str(exc))
            return
        self.set_classes([ClassSpec(c.name, c.color) for c in classes])

    # ================================================================ images and where the project lives
    def choose_image_folder(self) -> None:
        start = self.plan.image_folder or self._start_dir
        folder = self.questions.choose_folder("Folder of images", str(start))
        if folder:
            self.set_image_folder(folder)

    def set_image_folder(self, folder: str | Path) -> None:
        self.plan.image_folder = Path(folder).absolute()
        self._plan_changed()

    def choose_location(self) -> None:
        start = self.plan.root.parent if self.plan.root else self._start_dir
        folder = self.questions.choose_folder("Folder the project lives in", str(start))
        if folder:
            self.set_location(folder)

    def set_location(self, folder: str | Path | None) -> None:
        """Where the project lives (None: the image folder)."""
        self.plan.location = Path(folder).absolute() if folder else None
        self._plan_changed()

    def add_files(self, files: list[Path]) -> None:
        """Image files to copy into the project (dropped on the dialog)."""
        known = set(self.plan.files)
        self.plan.files.extend(Path(f).absolute() for f in files if Path(f).absolute() not in known)
        self._plan_changed()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        from segstudio.gui.drops import DropHandler

        DropHandler.accept_local_files(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        """A dropped folder becomes the image folder; dropped image files join the project."""
        from segstudio.core.image_io import is_image_file

        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        folders = [p for p in paths if p.is_dir()]
        if folders:
            self.set_image_folder(folders[0])
        files = [p for p in paths if p.is_file() and is_image_file(p)]
        if files:
            self.add_files(files)

    def _plan_changed(self) -> None:
        plan = self.plan
        self.folder_label.setText(str(plan.image_folder) if plan.image_folder else
                                  ("(none: only the dropped images)" if plan.files else "(none chosen)"))
        if plan.location is None and plan.image_folder is not None:
            self.location_label.setText(f"{plan.image_folder} (the image folder)")
        else:
            self.location_label.setText(str(plan.location) if plan.location else "(choose one)")
        self.survey = None
        self.images.clear()
        self.first_preview.clear()
        self.summary.setText("")
        self.runner.cancel_prefix(self._key)
        if plan.image_folder is not None or plan.files:
            snapshot = NewProjectPlan(plan.image_folder, list(plan.files), plan.location, [])
            self.summary.setText("Looking at the images…")
            self.runner.submit(f"{self._key}:survey", lambda job: survey_images(snapshot, lambda: job.cancelled),
                               lane="io", on_done=self._on_survey,
                               on_error=lambda exc, _trace: self._on_survey_failed(exc))
        self.validate()

    def _on_survey(self, survey: ImageSurvey) -> None:
        self.survey = survey
        self.images.setUpdatesEnabled(False)
        for entry in survey.entries:
            size = f"{entry.size[0]} × {entry.size[1]}" if entry.size else ""
            item = QListWidgetItem(f"{entry.image_id}    {size}" if not entry.problem else
                                   f"{entry.image_id}    unreadable")
            if entry.problem:
                item.setToolTip(entry.problem)
                item.setForeground(Qt.GlobalColor.red)
            self.images.addItem(item)
        self.images.setUpdatesEnabled(True)
        self.summary.setText(survey.summary())
        self._thumbnails(survey)
        self.validate()
        self.surveyed.emit()

    def _on_survey_failed(self, exc: BaseException) -> None:
        self.summary.setText(f"Cannot list the images: {exc}")
        self.validate()
        self.surveyed.emit()

    def _thumbnails(self, survey: ImageSurvey) -> None:
        from segstudio.gui.thumbnails import make_thumbnail

        readable = [(row, e) for row, e in enumerate(survey.entries) if not e.problem][:THUMBNAILS]
        for n, (row, entry) in enumerate(readable):
            size = 150 if n == 0 else THUMB_PX
            self.runner.submit(f"{self._key}:thumb:{row}", lambda _job, p=entry.path, s=size: make_thumbnail(p, s),
                               lane="io", priority=5, on_done=lambda img, r=row, first=n == 0: self._thumb(r, img, first))

    def _thumb(self, row: int, image, first: bool) -> None:
        if image.isNull() or row >= self.images.count():
            return
        pix = QPixmap.fromImage(image)
        if first:
            self.first_preview.setPixmap(pix)
        self.images.item(row).setIcon(QIcon(pix))

    # ================================================================ validation and Create
    def problem(self) -> str | None:
        """Why Create is disabled (None: it is enabled)."""
        if (self.plan.image_folder is not None or self.plan.files) and self.survey is None:
            return plan_problem(self.plan) or "looking at the images…"
        return plan_problem(self.plan, self.survey)

    def validate(self) -> None:
        problem = self.problem()
        self.create_button.setEnabled(problem is None)
        self.create_button.setToolTip(problem or "Write segstudio.json and open the project")
        self.reason.setText(problem[:1].upper() + problem[1:] if problem else "")

    def create_project(self) -> None:
        """Create: confirm replacing an existing project file, then hand the plan over; errors stay in the dialog."""
        if self.problem() is not None:
            return
        existing = self.plan.existing_project_file()
        if existing is not None and not self.questions.confirm(
                "Replace the project's classes?",
                f"{existing} already exists. Replace its class list with these {len(self.plan.classes)} classes? "
                "Masks painted with the old classes keep their pixel values."):
            return
        error = self._create(copy.deepcopy(self.plan), existing is not None)
        if error:
            self.reason.setText(error)
            return
        self.accept()

    def done(self, result: int) -> None:
        self.runner.cancel_prefix(self._key)
        super().done(result)


def _show_color(button: QToolButton, color: str) -> None:
    button.setIcon(color_swatch(color, 18))
    button.setText(color)
    button.setToolTip(f"Colour {color}: click to change")


def _heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(0, 6, 0, 0)
    return label


def _row(*widgets: QWidget, stretch_first: bool = True) -> QWidget:
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if (stretch_first and i == 0) else 0)
    if not stretch_first:
        lay.addStretch(1)
    return box
