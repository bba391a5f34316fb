"""The project's channel description, edited: each channel's name, display colour and how the model's input
is normalised (per-image percentiles, or a fixed range in raw units). Stored in segstudio.json on OK.

Names and colours only change how channels are shown and called. The normalisation changes what the model
sees: models trained from now on use it, and an existing checkpoint trained with another one is refused for
this project's images (``ChannelSpec.same_input``) until it is retrained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QLabel, QLineEdit, QTableWidget, QToolButton,
    QVBoxLayout, QWidget,
)

from segstudio.core.errors import ProjectError
from segstudio.gui.class_panel import color_swatch
from segstudio.gui.questions import widen

if TYPE_CHECKING:
    from segstudio.core.channels import ChannelSpec
    from segstudio.gui.questions import Questions

COLUMNS = ("Name", "Colour", "Normalisation", "Low", "High")
NORMALIZATION_TEXT = {"percentile": "percentiles of each image", "range": "fixed range (raw values)"}


class ChannelsDialog(QDialog):
    """Non-modal editor of a :class:`ChannelSpec`; ``accepted_spec(spec)`` with the validated result on OK."""

    accepted_spec = Signal(object)

    def __init__(self, spec: ChannelSpec, questions: Questions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Channels of this project")
        self.spec, self.questions = spec, questions
        self.colors = list(spec.colors)
        self.table = QTableWidget(spec.count, len(COLUMNS))
        self.table.setObjectName("channels_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.names: list[QLineEdit] = []
        self.color_buttons: list[QToolButton] = []
        self.norms: list[QComboBox] = []
        self.lows: list[QDoubleSpinBox] = []
        self.highs: list[QDoubleSpinBox] = []
        for row, ch in enumerate(spec.channels):
            name = QLineEdit(ch.name)
            button = QToolButton()
            button.setIcon(color_swatch(ch.color))
            button.setText(ch.color)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.clicked.connect(lambda _c=False, r=row: self._pick_color(r))
            norm = QComboBox()
            for key, text in NORMALIZATION_TEXT.items():
                norm.addItem(text, key)
            norm.setCurrentIndex(max(0, norm.findData(ch.normalization)))
            low, high = self._number(ch.low), self._number(ch.high)
            for col, widget in enumerate((name, button, norm, low, high)):
                self.table.setCellWidget(row, col, widget)
            self.names.append(name)
            self.color_buttons.append(button)
            self.norms.append(norm)
            self.lows.append(low)
            self.highs.append(high)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        width = sum(self.table.columnWidth(c) for c in range(len(COLUMNS))) + 40
        self.error = QLabel()
        self.error.setStyleSheet("color: #d9534f;")
        self.error.setWordWrap(True)
        note = QLabel("Names and colours only change the display. The normalisation changes what the model sees: "
                      "models trained from now on use it; retrain an existing model after changing it.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        widen(self, max(640, width))

    def _number(self, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(-1e12, 1e12)
        spin.setDecimals(3)
        spin.setValue(float(value))
        return spin

    def _pick_color(self, row: int) -> None:
        color = self.questions.color(self.colors[row])
        if color:
            self.colors[row] = color
            self.color_buttons[row].setIcon(color_swatch(color))
            self.color_buttons[row].setText(color)

    def result_spec(self) -> ChannelSpec:
        """The edited description (ProjectError naming the problem when it is invalid)."""
        from segstudio.core.channels import ChannelInfo, ChannelSpec

        chans = [ChannelInfo(self.names[i].text().strip(), self.colors[i], self.norms[i].currentData(),
                             self.lows[i].value(), self.highs[i].value()) for i in range(self.spec.count)]
        spec = ChannelSpec(self.spec.kind, chans, self.spec.dtype)
        spec.validate("channel description")
        return spec

    def accept(self) -> None:
        try:
            spec = self.result_spec()
        except ProjectError as exc:
            self.error.setText(str(exc))
            return
        self.accepted_spec.emit(spec)
        super().accept()
