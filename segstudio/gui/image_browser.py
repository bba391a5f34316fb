"""The image browser dock: thumbnails, label status, status filter, "most uncertain first" sort."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView, QStyle, QStyledItemDelegate,
    QStyleOptionViewItem, QVBoxLayout, QWidget,
)

from segstudio.gui.browser_model import (
    FILTERS, LABELED, PARTIAL, PREDICTED, PREDICTED_COLOR, SORT_NAME, SORT_UNCERTAINTY, STATUS_COLOR,
    STATUS_TEXT, UNKNOWN, UNLABELED, ImageIdRole, ImageListModel, PredictedRole, StatusRole, UncertaintyRole,
)
from segstudio.gui import settings as app_settings
from segstudio.gui.jobs import JobRunner
from segstudio.gui.thumbnails import THUMB_SIZE
from segstudio.session import Session

FILTER_LABELS = {None: "All images", UNLABELED: "Unlabeled", PARTIAL: "Partly labeled", LABELED: "Labeled",
                 PREDICTED: "Predicted"}
ROW_HEIGHT = THUMB_SIZE + 8


def row_texts(index: QModelIndex, width: int, font: QFont | None = None) -> tuple[str, str]:
    """(status line elided to fit ``width`` pixels beside the value, uncertainty value or "") of a row."""
    fm = QFontMetrics(font if font is not None else QFont())
    unc = index.data(UncertaintyRole)
    value = f"{unc:.2f}" if unc is not None else ""
    room = width - (fm.horizontalAdvance(value) + 6 if value else 0)
    text = STATUS_TEXT[index.data(StatusRole) or UNKNOWN]
    if index.data(PredictedRole):
        text += "  ·  predicted"
    if value:
        text += "  ·  uncertainty"
    return fm.elidedText(text, Qt.TextElideMode.ElideRight, max(10, room)), value


class ImageItemDelegate(QStyledItemDelegate):
    """Thumbnail, file name, and a coloured status line."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt name
        return QSize(200, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = type(opt.icon)()
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)
        r = option.rect
        pix = index.data(Qt.ItemDataRole.DecorationRole)
        thumb_rect = QRect(r.left() + 4, r.top() + 4, THUMB_SIZE, THUMB_SIZE)
        if pix is not None and not pix.isNull():
            scaled = pix.size().scaled(THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pix)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Active
        text_color = option.palette.color(group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        x = thumb_rect.right() + 10
        width = max(10, r.right() - x - 4)
        fm = QFontMetrics(option.font)
        name = fm.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideMiddle, width)
        painter.setPen(text_color)
        painter.setFont(option.font)
        painter.drawText(QRect(x, r.top() + 6, width, fm.height()), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        status = index.data(StatusRole) or UNKNOWN
        y = r.top() + 10 + fm.height()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(STATUS_COLOR[status])
        painter.drawEllipse(QRect(x, y + fm.height() // 2 - 4, 8, 8))
        small = option.font
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.9))
        painter.setFont(small)
        painter.setPen(text_color)
        status_text, value = row_texts(index, width - 13, small)
        right = QFontMetrics(small).horizontalAdvance(value) + 6 if value else 0
        if value:  # the number the ranking uses, right-aligned and never elided
            painter.drawText(QRect(x + width - right + 6, y, right - 6, fm.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, value)
        painter.drawText(QRect(x + 13, y, width - 13 - right, fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, status_text)
        if index.data(PredictedRole):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PREDICTED_COLOR)
            painter.drawRect(QRect(thumb_rect.right() - 7, thumb_rect.top(), 8, 8))
        painter.restore()


class ImageBrowser(QWidget):
    """A QListView over :class:`ImageListModel`; emits ``imageActivated(id)`` when the user picks an image."""

    imageActivated = Signal(str)

    def __init__(self, session: Session, runner: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(session, runner, self)
        self.filter_combo = QComboBox()
        for value in FILTERS:
            self.filter_combo.addItem(FILTER_LABELS[value], value)
        self.filter_combo.setToolTip("Show only images with this label status")
        self.sort_combo = QComboBox()
        self.sort_combo.addItem("Name", SORT_NAME)
        self.sort_combo.addItem("Most uncertain first", SORT_UNCERTAINTY)
        self.sort_combo.setToolTip("Order of the images. Most uncertain first: the images to label next "
                                   "(unlabeled first, then partly labeled, then labeled, each by the model's "
                                   "uncertainty, shown on the right of each row)")
        self.count_label = QLabel()
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(ImageItemDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_combo, 1)
        top.addWidget(self.sort_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

        self._current: str | None = None
        self._selecting = False
        self.filter_combo.currentIndexChanged.connect(self._on_filter_chosen)
        self.sort_combo.currentIndexChanged.connect(self._on_sort_chosen)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.model.countsChanged.connect(self._update_count)
        self.model.layoutChanged.connect(self._after_layout)
        self.model.modelReset.connect(self._after_layout)

        session.events.connect("project_changed", lambda _p: setattr(self, "_current", None))
        session.events.connect("image_changed", self.select)
        self._restore_view()

    # ---------------------------------------------------------------- API used by the main window
    def _restore_view(self) -> None:
        """The sort order and filter the user chose last time."""
        sort = app_settings.read_value("browser/sort", SORT_NAME, str)
        if sort in (SORT_NAME, SORT_UNCERTAINTY):
            self.set_sort(sort)
        status = app_settings.read_value("browser/filter", "", str) or None
        if status in FILTERS:
            self.set_filter(status)

    def _on_sort_chosen(self, _index: int) -> None:
        mode = self.sort_combo.currentData()
        self.model.set_sort(mode)
        app_settings.write_values({"browser/sort": mode})

    def _on_filter_chosen(self, _index: int) -> None:
        status = self.filter_combo.currentData()
        self.model.set_filter(status)
        app_settings.write_values({"browser/filter": status or ""})

    def set_filter(self, status: str | None) -> None:
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(status) if status is not None else 0)

    def set_sort(self, mode: str) -> None:
        self.sort_combo.setCurrentIndex(self.sort_combo.findData(mode))

    def select(self, image_id: str | None) -> None:
        """Highlight an image without emitting ``imageActivated``."""
        self._current = image_id
        row = self.model.row_of(image_id) if image_id else -1
        self._selecting = True
        try:
            sel = self.view.selectionModel()
            if row < 0:
                sel.clearSelection()
                return
            index = self.model.index(row, 0)
            sel.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollTo(index)
        finally:
            self._selecting = False

    def neighbour(self, image_id: str | None, step: int) -> str | None:
        """The image ``step`` rows away in the shown order (None past either end)."""
        rows = self.model.visible_ids()
        if not rows:
            return None
        row = self.model.row_of(image_id) if image_id else -1
        if row < 0:
            return rows[0] if step > 0 else rows[-1]
        target = row + step
        return rows[target] if 0 <= target < len(rows) else None

    # ---------------------------------------------------------------- internals
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._selecting or not current.isValid():
            return
        image_id = current.data(ImageIdRole)
        if image_id and image_id != self._current:
            self._current = image_id
            self.imageActivated.emit(image_id)

    def _after_layout(self) -> None:
        if self._current is not None and self.model.row_of(self._current) >= 0:
            self.select(self._current)
        self._update_count()

    def _update_count(self) -> None:
        c = self.model.counts()
        total = len(self.model.image_ids())
        shown = self.model.rowCount()
        head = f"{total} images" if shown == total else f"{shown} of {total} images"
        labeled = c[LABELED] + c[PARTIAL]
        self.count_label.setText(f"{head}  ·  {labeled} labeled  ·  {c[PREDICTED]} predicted")
