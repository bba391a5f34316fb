"""An error message with an expandable "Details…" full traceback (the app keeps running)."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class ErrorBox(QWidget):
    """Hidden until :meth:`show_error`; "Details…" toggles the trace text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self._style_label()
        self.details_button = QPushButton("Details…")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle)
        self.close_button = QPushButton("×")
        self.close_button.setFixedWidth(28)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.clear)
        row.addWidget(self.label, 1)
        row.addWidget(self.details_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumHeight(140)
        self.details.setVisible(False)
        layout.addWidget(self.details)
        self.setVisible(False)

    def _style_label(self) -> None:
        """Red that reads on the theme's background (dark red on light, light red on dark)."""
        from PySide6.QtGui import QPalette

        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.label.setStyleSheet(f"color: {'#ff7b7b' if dark else '#b00020'};")

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange:
            self._style_label()
        super().changeEvent(event)

    def show_error(self, message: str, details: str | None = None) -> None:
        self.label.setText(message)
        self.details.setPlainText(details or message)
        self.details_button.setVisible(bool(details))
        self.details_button.setChecked(False)
        self.setVisible(True)

    def clear(self) -> None:
        self.label.clear()
        self.details.clear()
        self.details_button.setChecked(False)
        self.setVisible(False)

    @property
    def message(self) -> str:
        return self.label.text()

    def _toggle(self, on: bool) -> None:
        self.details.setVisible(on)
        self.details_button.setText("Hide details" if on else "Details…")
