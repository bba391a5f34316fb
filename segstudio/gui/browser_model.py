"""The image list model: 10,000 rows without a widget per row, filter by status, sort by uncertainty."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPixmap

from segstudio.core.paths import natural_key
from segstudio.gui.thumbnails import THUMB_SIZE, BackgroundLoader

UNKNOWN, UNLABELED, PARTIAL, LABELED = "unknown", "unlabeled", "partial", "labeled"
PREDICTED = "predicted"  # a filter value: images with a model prediction
STATUS_TEXT = {UNKNOWN: "…", UNLABELED: "unlabeled", PARTIAL: "partly labeled", LABELED: "labeled"}
STATUS_COLOR = {UNKNOWN: QColor(128, 128, 128), UNLABELED: QColor(150, 150, 150),
                PARTIAL: QColor(230, 160, 40), LABELED: QColor(60, 180, 90)}
PREDICTED_COLOR = QColor(80, 140, 230)
FILTERS = (None, UNLABELED, PARTIAL, LABELED, PREDICTED)
SORT_NAME, SORT_UNCERTAINTY = "name", "uncertainty"

ImageIdRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
PredictedRole = Qt.ItemDataRole.UserRole + 3
UncertaintyRole = Qt.ItemDataRole.UserRole + 4
MAX_THUMBNAILS = 4000


def status_from_label(label_status) -> str:
    """Map core LabelStatus (none/partial/complete) to a browser status."""
    value = getattr(label_status, "value", label_status)
    return {"none": UNLABELED, "partial": PARTIAL, "complete": LABELED}.get(value, UNLABELED)


def status_of_file(project, image_id: str) -> str:
    """Browser status from the files on disk (runs in a worker thread)."""
    try:
        if not project.mask_path(image_id).is_file():
            return UNLABELED + ("+" if project.prediction_path(image_id).is_file() else "")
        label = status_from_label(project.label_status(image_id))
        return label + ("+" if project.prediction_path(image_id).is_file() else "")
    except Exception:  # noqa: BLE001 - a broken file shows as unlabeled, it is reported when opened
        return UNLABELED


def list_image_ids(project) -> list[str]:
    """Image ids (relative posix paths) in natural order, without resolving every path."""
    base = str(project.images_dir)
    prefix = base if base.endswith(os.sep) else base + os.sep
    ids = []
    for path in project.list_images():
        text = str(path)
        rel = text[len(prefix):] if text.startswith(prefix) else os.path.relpath(text, base)
        ids.append(rel.replace(os.sep, "/"))
    return ids


class ImageListModel(QAbstractListModel):
    """Rows are image ids; data comes from dictionaries filled in the background."""

    countsChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.project = None
        self._ids: list[str] = []
        self._rows: list[str] = []
        self._row_of: dict[str, int] = {}
        self._status: dict[str, str] = {}
        self._predicted: set[str] = set()
        self._uncertainty: dict[str, float] = {}
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._filter: str | None = None
        self._sort = SORT_NAME
        self.loader = BackgroundLoader()
        self.loader.signals.thumbnailReady.connect(self._on_thumbnail)
        self.loader.signals.statusesReady.connect(self._on_statuses)
        self._placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._placeholder.fill(QColor(90, 90, 90, 60))
        self._refilter_timer = QTimer(self, singleShot=True, interval=150)
        self._refilter_timer.timeout.connect(self.refilter)

    # ---------------------------------------------------------------- Qt model API
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        image_id = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return image_id.rsplit("/", 1)[-1]
        if role == ImageIdRole:
            return image_id
        if role == StatusRole:
            return self._status.get(image_id, UNKNOWN)
        if role == PredictedRole:
            return image_id in self._predicted
        if role == UncertaintyRole:
            return self._uncertainty.get(image_id)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(image_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = f"{image_id}\n{STATUS_TEXT[self._status.get(image_id, UNKNOWN)]}"
            if image_id in self._predicted:
                text += ", predicted"
            if image_id in self._uncertainty:
                text += f"\nuncertainty {self._uncertainty[image_id]:.3f}"
            return text
        return None

    # ---------------------------------------------------------------- content
    def set_project(self, project) -> None:
        """List the project's images (fast, on this thread); statuses and thumbnails follow in the background."""
        self.loader.new_generation()
        self.project = project
        ids = list_image_ids(project) if project is not None else []
        self.beginResetModel()
        self._ids = ids
        self._status = {}
        self._predicted = set()
        self._uncertainty = {}
        self._thumbs.clear()
        self._pending.clear()
        self._apply_view()
        self.endResetModel()
        self.countsChanged.emit()
        if project is not None and ids:
            # Start once the event loop runs, so the worker does not compete with building the window.
            generation = self.loader.generation
            QTimer.singleShot(0, lambda: self._start_statuses(generation, project, ids))

    def _start_statuses(self, generation: int, project, ids: list[str]) -> None:
        if generation == self.loader.generation and project is self.project:
            self.loader.request_statuses(project, ids)

    def add_images(self, image_ids: list[str]) -> None:
        """New images (copied into the project) appear in natural order."""
        known = set(self._ids)
        new = [i for i in dict.fromkeys(image_ids) if i not in known]
        if not new:
            return
        self._ids = sorted(self._ids + new, key=natural_key)
        self.refilter()
        if self.project is not None:
            self.loader.request_statuses(self.project, new)
        self.countsChanged.emit()

    def image_ids(self) -> list[str]:
        """All image ids (unfiltered) in natural order."""
        return list(self._ids)

    def visible_ids(self) -> list[str]:
        return list(self._rows)

    def row_of(self, image_id: str) -> int:
        return self._row_of.get(image_id, -1)

    def status(self, image_id: str) -> str:
        return self._status.get(image_id, UNKNOWN)

    def is_predicted(self, image_id: str) -> bool:
        return image_id in self._predicted

    def counts(self) -> dict[str, int]:
        out = {UNKNOWN: 0, UNLABELED: 0, PARTIAL: 0, LABELED: 0}
        for image_id in self._ids:
            out[self._status.get(image_id, UNKNOWN)] += 1
        out[PREDICTED] = len(self._predicted)
        return out

    # ---------------------------------------------------------------- updates
    def set_status(self, image_id: str, status: str) -> None:
        if self._status.get(image_id) == status:
            return
        self._status[image_id] = status
        self._row_changed(image_id)
        self.countsChanged.emit()
        if self._filter is not None:
            self._refilter_timer.start()

    def set_predicted(self, image_id: str, predicted: bool = True) -> None:
        if predicted:
            self._predicted.add(image_id)
        else:
            self._predicted.discard(image_id)
        self._row_changed(image_id)
        self.countsChanged.emit()
        if self._filter == PREDICTED:
            self._refilter_timer.start()

    def set_uncertainty(self, image_id: str, value: float) -> None:
        self._uncertainty[image_id] = float(value)
        self._row_changed(image_id)
        if self._sort == SORT_UNCERTAINTY:
            self._refilter_timer.start()

    def invalidate_thumbnail(self, image_id: str) -> None:
        self._thumbs.pop(image_id, None)
        self._row_changed(image_id)

    # ---------------------------------------------------------------- filter and sort
    def set_filter(self, status: str | None) -> None:
        if status not in FILTERS:
            raise ValueError(f"unknown filter {status!r}")
        self._filter = status
        self.refilter()

    @property
    def filter(self) -> str | None:
        return self._filter

    def set_sort(self, mode: str) -> None:
        if mode not in (SORT_NAME, SORT_UNCERTAINTY):
            raise ValueError(f"unknown sort {mode!r}")
        self._sort = mode
        self.refilter()

    @property
    def sort(self) -> str:
        return self._sort

    def refilter(self) -> None:
        self._refilter_timer.stop()
        self.layoutAboutToBeChanged.emit()
        old_rows = list(self._rows)
        persistent = self.persistentIndexList()
        self._apply_view()
        for index in persistent:
            image_id = old_rows[index.row()] if 0 <= index.row() < len(old_rows) else None
            row = self._row_of.get(image_id, -1) if image_id is not None else -1
            self.changePersistentIndex(index, self.index(row, 0) if row >= 0 else QModelIndex())
        self.layoutChanged.emit()

    def _apply_view(self) -> None:
        ids = self._ids
        f = self._filter
        if f == PREDICTED:
            ids = [i for i in ids if i in self._predicted]
        elif f is not None:
            ids = [i for i in ids if self._status.get(i, UNKNOWN) == f]
        if self._sort == SORT_UNCERTAINTY:
            unc = self._uncertainty
            order = {image_id: n for n, image_id in enumerate(ids)}
            ids = sorted(ids, key=lambda i: (-unc.get(i, float("-inf")), order[i]))
        self._rows = ids
        self._row_of = {image_id: n for n, image_id in enumerate(ids)}

    # ---------------------------------------------------------------- background results
    def _row_changed(self, image_id: str) -> None:
        row = self._row_of.get(image_id, -1)
        if row >= 0:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index)

    def _thumbnail(self, image_id: str) -> QPixmap:
        pix = self._thumbs.get(image_id)
        if pix is not None:
            self._thumbs.move_to_end(image_id)
            return pix
        if image_id not in self._pending and self.project is not None:
            self._pending.add(image_id)
            self.loader.request_thumbnail(image_id, Path(self.project.image_path(image_id)))
        return self._placeholder

    def _on_thumbnail(self, generation: int, image_id: str, image: QImage) -> None:
        if generation != self.loader.generation:
            return
        self._pending.discard(image_id)
        pix = QPixmap.fromImage(image) if not image.isNull() else self._placeholder
        self._thumbs[image_id] = pix
        while len(self._thumbs) > MAX_THUMBNAILS:
            self._thumbs.popitem(last=False)
        self._row_changed(image_id)

    def _on_statuses(self, generation: int, batch: list) -> None:
        if generation != self.loader.generation:
            return
        for image_id, status in batch:
            predicted = status.endswith("+")
            label = status.rstrip("+")
            if image_id not in self._status or self._status[image_id] == UNKNOWN:
                self._status[image_id] = label
            if predicted:
                self._predicted.add(image_id)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))
        self.countsChanged.emit()
        if self._filter is not None:
            self._refilter_timer.start()


__all__ = ["ImageListModel", "QPersistentModelIndex"]
