"""Status bar: cursor position, original pixel value(s) (every channel, by name for multi-channel images),
class under the cursor, predicted class with its confidence, zoom, image index, errors."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QStatusBar


def format_value(value: tuple[float, ...] | None) -> str:
    """'123', '(12, 34, 56)', '0.532' for the original pixel value(s)."""
    if value is None:
        return ""
    parts = [(f"{v:.4g}" if isinstance(v, float) and not float(v).is_integer() else str(int(v))) for v in value]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def format_channels(names: list[str], value: tuple[float, ...]) -> str:
    """'DAPI 1234  GFP 56  …': each channel's original value after its name."""
    return "  ".join(f"{name} {format_value((v,))}" for name, v in zip(names, value))


class StatusBar(QStatusBar):
    """Permanent labels on the right, temporary messages and errors on the left."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #d9534f; font-weight: bold;")
        self.error_label.hide()
        self.position_label = QLabel()
        self.value_label = QLabel()
        self.class_label = QLabel()
        self.prediction_label = QLabel()
        self.zoom_label = QLabel()
        self.index_label = QLabel()
        for label, width in ((self.position_label, 110), (self.value_label, 150), (self.class_label, 130),
                             (self.prediction_label, 150),
                             (self.zoom_label, 70), (self.index_label, 90)):
            label.setMinimumWidth(width)
            label.setContentsMargins(4, 0, 8, 0)
            if label in (self.position_label, self.value_label):
                label.setFont(mono)
        self.addWidget(self.error_label, 1)
        for label in (self.position_label, self.value_label, self.class_label, self.prediction_label,
                      self.zoom_label, self.index_label):
            self.addPermanentWidget(label)

    def show_cursor(self, x: int, y: int, value: tuple[float, ...] | None, class_name: str | None,
                    prediction: str | None = None, channel_names: list[str] | None = None) -> None:
        """Position, original pixel value(s) (named by ``channel_names`` when given), the mask's class and the
        predicted class under the cursor."""
        if x < 0 or y < 0:
            for label in (self.position_label, self.value_label, self.class_label, self.prediction_label):
                label.setText("")
            return
        self.position_label.setText(f"x {x}  y {y}")
        if channel_names and value is not None and len(channel_names) == len(value):
            text = format_channels(channel_names, value)
        else:
            text = format_value(value)
            text = f"value {text}" if text else ""
        self.value_label.setText(text)
        self.class_label.setText(class_name or "")
        self.prediction_label.setText(prediction or "")

    def show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def show_index(self, index: int, total: int) -> None:
        self.index_label.setText(f"{index + 1} / {total}" if index >= 0 else f"– / {total}")

    def show_error(self, message: str) -> None:
        self.error_label.setText("⚠ " + message)
        self.error_label.setToolTip(message)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()
