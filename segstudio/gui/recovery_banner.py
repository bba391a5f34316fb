"""A non-blocking bar above the canvas offering to restore edits left by a crash."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle


class RecoveryBanner(QFrame):
    """Hidden until :meth:`offer`; emits ``restoreClicked`` or ``discardClicked``."""

    restoreClicked = Signal()
    discardClicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("recovery_banner")
        self.setStyleSheet("#recovery_banner { background: #fff3cd; border-bottom: 1px solid #e0c36a; }"
                           "#recovery_banner QLabel { color: #5c4400; }")
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(20, 20))
        self.label = QLabel()
        self.restore_button = QPushButton("Restore")
        self.discard_button = QPushButton("Discard")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.discard_button)
        self.restore_button.clicked.connect(self.restoreClicked)
        self.discard_button.clicked.connect(self.discardClicked)
        self.hide()

    def offer(self, count: int) -> None:
        self.label.setText(f"segstudio did not close properly last time: unsaved edits of {count} image(s) "
                           "were kept. Restore them?")
        self.show()
