"""The toolbar's options of the current tool: the magic wand's tolerance (slider and spin box, shown while the
wand is the tool; the wand's preview follows it at once) and whether the model-assisted click keeps the
predicted class; the tool's hint and the tools' messages in the status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QSlider, QSpinBox, QToolBar

from segstudio.gui.canvas.tools import TOOL_CLASSES

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow

#: how long (ms) a tool's hint stays in the status bar
HINT_MS = 10000


def add_tool_options(window: MainWindow, toolbar: QToolBar) -> None:
    """Add the options to ``toolbar`` and keep them and the canvas in step (``window.wand_tolerance_spin``,
    ``window.wand_tolerance_slider``, ``window.region_class_check``)."""
    canvas = window.canvas
    label = QLabel("Tolerance ")
    label.setContentsMargins(10, 0, 2, 0)
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 255)
    slider.setFixedWidth(110)
    spin = QSpinBox()
    spin.setRange(0, 255)
    for w in (label, slider, spin):
        w.setToolTip("Magic wand tolerance: how far (0-255, every channel) a pixel may be from the one clicked")
    for w in (slider, spin):
        w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        w.setValue(canvas.wand_tolerance)
    spin.valueChanged.connect(slider.setValue)
    slider.valueChanged.connect(spin.setValue)
    spin.valueChanged.connect(lambda v: setattr(canvas, "wand_tolerance", v))
    canvas.wandToleranceChanged.connect(spin.setValue)
    wand_actions = [toolbar.addWidget(w) for w in (label, slider, spin)]
    window.wand_tolerance_spin, window.wand_tolerance_slider = spin, slider

    check = QCheckBox("Keep predicted class")
    check.setToolTip("The predicted-region click writes the class the model predicted, not the current one "
                     "(Shift+click does the other)")
    check.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    check.toggled.connect(lambda on: setattr(canvas, "region_takes_predicted_class", bool(on)))
    region_actions = [toolbar.addWidget(check)]
    window.region_class_check = check

    def show_options(name: str) -> None:
        for act in wand_actions:
            act.setVisible(name == "wand")
        for act in region_actions:
            act.setVisible(name == "region")

    def on_tool(name: str) -> None:
        show_options(name)
        window.status.showMessage(TOOL_CLASSES[name].hint, HINT_MS)

    show_options(canvas.tool)
    canvas.toolChanged.connect(on_tool)
    canvas.toolMessage.connect(lambda message: window.status.showMessage(message, 6000))
