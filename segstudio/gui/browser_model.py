"""The image list model: 10,000 rows without a widget per row, filter by status, rank by uncertainty.

It renders the session's images: the list comes from the session, label statuses and thumbnails are
read on the job runner, and the session's events (saved masks, predictions, uncertainties, added
images, another project) update the rows. "Most uncertain first" ranks the images to label next:
unlabeled ones first, then partly labeled, then labeled, each by the model's uncertainty.
"""

from __future__ import annotations

import collections
from collections import OrderedDict

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPixmap

from segstudio.core.paths import natural_key
from segstudio.gui.jobs import JobRunner
from segstudio.gui.thumbnails import THUMB_SIZE, make_thumbnail, read_statuses
from segstudio.session import Session

UNKNOWN, UNLABELED, PARTIAL, LABELED = "unknown", "unlabeled", "partial", "labeled"
PREDICTED = "predicted"  # a filter value: images with a model prediction
STATUS_TEXT = {UNKNOWN: "…", UNLABELED: "unlabeled", PARTIAL: "partly labeled", LABELED: "labeled"}
STATUS_COLOR = {UNKNOWN: QColor(128, 128, 128), UNLABELED: QColor(150, 150, 150),
                PARTIAL: QColor(230, 160, 40), LABELED: QColor(60, 180, 90)}
PREDICTED_COLOR = QColor(80, 140, 230)
FILTERS = (None, UNLABELED, PARTIAL, LABELED, PREDICTED)
SORT_NAME, SORT_UNCERTAINTY = "name", "uncertainty"
#: "most uncertain first": images still to label come first
LABEL_RANK = {UNLABELED: 0, UNKNOWN: 0, PARTIAL: 1, LABELED: 2}

ImageIdRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
PredictedRole = Qt.ItemDataRole.UserRole + 3
UncertaintyRole = Qt.ItemDataRole.UserRole + 4
MAX_THUMBNAILS = 4000


def status_from_label(label_status) -> str:
    """Map core LabelStatus (none/partial/complete) to a browser status."""
    value = getattr(label_status, "value", label_status)
    return {"none": UNLABELED, "partial": PARTIAL, "complete": LABELED}.get(value, UNLABELED)


class ImageListModel(QAbstractListModel):
    """Rows are image ids of the session's project; data comes from dictionaries filled in the background."""

    countsChanged = Signal()

    def __init__(self, session: Session, runner: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.session, self.runner = session, runner
        self._ids: list[str] = []
        self._rows: list[str] = []
        self._row_of: dict[str, int] = {}
        self._status: dict[str, str] = {}
        self._predicted: set[str] = set()
        self._uncertainty: dict[str, float] = {}
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._status_batches: collections.deque = collections.deque()
        self._generation = 0
        self._filter: str | None = None
        self._sort = SORT_NAME
        self._placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._placeholder.fill(QColor(90, 90, 90, 60))
        self._refilter_timer = QTimer(self, singleShot=True, interval=150)
        self._refilter_timer.timeout.connect(self.refilter)
        ev = session.events
        ev.connect("project_changed", lambda _p: self.reload())
        ev.connect("images_added", self.add_images)
        ev.connect("mask_saved", lambda image_id, label: self.set_status(image_id, status_from_label(label)))
        ev.connect("prediction_changed", lambda image_id: self.set_predicted(image_id, True))
        ev.connect("uncertainty_changed", self.set_uncertainty)

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
                text += f"\nuncertainty {self._uncertainty[image_id]:.3f} (mean per-pixel entropy)"
            return text
        return None

    # ---------------------------------------------------------------- content
    def reload(self) -> None:
        """Show the session's project (fast, on this thread); statuses and thumbnails follow in the background."""
        self._generation += 1
        self.runner.cancel_prefix("browser:")
        self._status_batches.clear()
        ids = list(self.session.image_ids)
        self.beginResetModel()
        self._ids = ids
        self._status, self._predicted, self._uncertainty = {}, set(), {}
        self._thumbs.clear()
        self._pending.clear()
        self._apply_view()
        self.endResetModel()
        self.countsChanged.emit()
        if ids:
            self._request_statuses(ids)

    def _request_statuses(self, ids: list[str]) -> None:
        project, batches, generation = self.session.project, self._status_batches, self._generation
        if project is None:
            return

        def work(job) -> None:
            def report(batch: list) -> None:
                batches.append((generation, batch))
                job.report()

            read_statuses(project, ids, report, lambda: job.cancelled)

        self.runner.submit(f"browser:statuses:{generation}:{len(ids)}:{ids[0]}", work, lane="io", priority=-10,
                           on_progress=lambda _p: self._drain_statuses(), on_done=lambda _r: self._drain_statuses())

    def add_images(self, image_ids: list[str]) -> None:
        """New images (copied into the project) appear in natural order."""
        known = set(self._ids)
        new = [i for i in dict.fromkeys(image_ids) if i not in known]
        if not new:
            return
        self._ids = sorted(self._ids + new, key=natural_key)
        self.refilter()
        self._request_statuses(new)
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
        if self._filter is not None or self._sort == SORT_UNCERTAINTY:
            self._refilter_timer.start()

    def set_predicted(self, image_id: str, predicted: bool = True) -> None:
        if (image_id in self._predicted) == predicted:
            return
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
            unc, status = self._uncertainty, self._status
            order = {image_id: n for n, image_id in enumerate(ids)}
            ids = sorted(ids, key=lambda i: (LABEL_RANK[status.get(i, UNKNOWN)], -unc.get(i, float("-inf")), order[i]))
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
        if image_id not in self._pending and self.session.project is not None:
            self._pending.add(image_id)
            path, generation, project = self.session.image_path(image_id), self._generation, self.session.project
            self.runner.submit(f"browser:thumb:{image_id}", lambda job: make_thumbnail(path, project=project),
                               lane="io",
                               on_done=lambda image: self._on_thumbnail(generation, image_id, image),
                               on_error=lambda _e, _t: self._pending.discard(image_id))
        return self._placeholder

    def _on_thumbnail(self, generation: int, image_id: str, image: QImage) -> None:
        if generation != self._generation:
            return
        self._pending.discard(image_id)
        pix = QPixmap.fromImage(image) if not image.isNull() else self._placeholder
        self._thumbs[image_id] = pix
        while len(self._thumbs) > MAX_THUMBNAILS:
            self._thumbs.popitem(last=False)
        self._row_changed(image_id)

    def _drain_statuses(self) -> None:
        changed = False
        while self._status_batches:
            generation, batch = self._status_batches.popleft()
            if generation != self._generation:
                continue
            for image_id, label, predicted in batch:
                if self._status.get(image_id, UNKNOWN) == UNKNOWN:
                    self._status[image_id] = status_from_label(label)
                if predicted:
                    self._predicted.add(image_id)
            changed = True
        if not changed:
            return
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))
        self.countsChanged.emit()
        if self._filter is not None or self._sort == SORT_UNCERTAINTY:
            self._refilter_timer.start()


__all__ = ["ImageListModel", "QPersistentModelIndex"]
