"""The Layers dock: what the canvas draws, in the order it is drawn (top of the list = on top), napari style.

One row per layer (uncertainty, prediction, mask, image) with a visibility check box and an opacity slider,
the prediction's style (outline, hatched, where it disagrees with the mask, ...), and below them the image's
display controls (:class:`~segstudio.gui.display_panel.DisplayPanel`). It renders the session's view state and
changes it; it holds none of its own. M and O (View menu) toggle the mask and the prediction here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFrame, QGridLayout, QLabel, QSlider, QVBoxLayout, QWidget,
)

from segstudio.session.view_state import LAYER_ORDER, LAYER_TITLES, PREDICTION_STYLES

if TYPE_CHECKING:
    from segstudio.gui.display_panel import DisplayPanel
    from segstudio.session import Session

TIPS = {
    "uncertainty": "Where the model is unsure (1 − confidence of the predicted class), in magenta",
    "prediction": "The model's prediction",
    "mask": "The mask you paint",
    "image": "The image, as the display settings below show it (the model always sees the original values)",
}


class LayersPanel(QWidget):
    """See the module docstring; ``display`` is the image display panel shown under the layers."""

    def __init__(self, session: Session, display: DisplayPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("layers_panel")
        self.visible_boxes: dict[str, QCheckBox] = {}
        self.opacity_sliders: dict[str, QSlider] = {}
        self.opacity_labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        row = 0
        for name in LAYER_ORDER:
            box = QCheckBox(LAYER_TITLES[name])
            box.setObjectName(f"layer_visible_{name}")
            box.setToolTip(TIPS[name])
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"layer_opacity_{name}")
            slider.setRange(0, 100)
            slider.setToolTip(f"Opacity of the {LAYER_TITLES[name].lower()} layer")
            label = QLabel()
            label.setMinimumWidth(36)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            box.toggled.connect(lambda on, n=name: self.session.view.set_layer(n, visible=on))
            slider.valueChanged.connect(lambda v, n=name: self.session.view.set_layer(n, opacity=v / 100.0))
            grid.addWidget(box, row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(label, row, 2)
            self.visible_boxes[name], self.opacity_sliders[name], self.opacity_labels[name] = box, slider, label
            row += 1
            if name == "prediction":
                self.style_combo = QComboBox()
                self.style_combo.setObjectName("prediction_style")
                for key, text in PREDICTION_STYLES.items():
                    self.style_combo.addItem(text, key)
                self.style_combo.setToolTip("How the prediction is drawn, so it is told apart from the mask")
                self.style_combo.currentIndexChanged.connect(
                    lambda i: self.session.view.set_prediction_style(self.style_combo.itemData(i)))
                style_label = QLabel("   style")
                grid.addWidget(style_label, row, 0)
                grid.addWidget(self.style_combo, row, 1, 1, 2)
                row += 1
        grid.setColumnStretch(1, 1)
        order = QLabel("Top of the list is drawn on top")
        order.setEnabled(False)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(grid)
        layout.addWidget(order)
        layout.addWidget(line)
        self.display = display
        layout.addWidget(display, 1)
        session.events.connect("view_changed", self._on_view_changed)
        self.refresh()

    def _on_view_changed(self, aspect: str) -> None:
        if aspect in ("layers", "prediction_style"):
            self.refresh()

    def refresh(self) -> None:
        """Show the session's layers and prediction style."""
        view = self.session.view
        for name in LAYER_ORDER:
            layer = view.layers[name]
            box, slider = self.visible_boxes[name], self.opacity_sliders[name]
            for widget, setter, value in ((box, box.setChecked, layer.visible),
                                          (slider, slider.setValue, round(layer.opacity * 100))):
                widget.blockSignals(True)
                setter(value)
                widget.blockSignals(False)
            slider.setEnabled(layer.visible)
            self.opacity_labels[name].setText(f"{round(layer.opacity * 100)} %")
        index = self.style_combo.findData(view.prediction_style)
        self.style_combo.blockSignals(True)
        self.style_combo.setCurrentIndex(index)
        self.style_combo.blockSignals(False)


def bind_layer_action(action: QAction, session: Session, name: str) -> None:
    """A checkable action (View › Show Mask, key M) that shows or hides a layer and follows the layer's state."""
    action.toggled.connect(lambda on: session.view.set_layer(name, visible=on))

    def follow(aspect: str) -> None:
        if aspect == "layers" and action.isChecked() != session.view.layers[name].visible:
            action.blockSignals(True)
            action.setChecked(session.view.layers[name].visible)
            action.blockSignals(False)

    session.events.connect("view_changed", follow)
    follow("layers")


def add_display_actions(window) -> None:
    """View menu: M / O show the mask / prediction layer, Shift+O the next prediction style; H hides and L locks
    the selected class, U toggles "paint only unlabeled pixels" (all listed in the shortcuts dialog)."""
    from segstudio.gui.main_actions import _action

    session, panel, m = window.session, window.class_panel, window.menus["View"]
    bind_layer_action(window.actions_by_name["show_mask"], session, "mask")
    bind_layer_action(window.actions_by_name["show_prediction"], session, "prediction")
    styles = list(PREDICTION_STYLES)

    def next_style() -> None:
        view = session.view
        view.set_prediction_style(styles[(styles.index(view.prediction_style) + 1) % len(styles)])
        window.status.showMessage(f"Prediction: {PREDICTION_STYLES[view.prediction_style]}", 2000)

    before = window.docks_menu.menuAction()
    for act in (_action(window, "prediction_style", "Next Prediction St&yle", next_style, ("Shift+O",),
                        tip="Draw the prediction filled, as an outline, hatched, or where it disagrees with the mask"),
                _action(window, "hide_class", "&Hide / Show Selected Class", panel.toggle_hidden, ("H",),
                        tip="Hide the selected class on the image (mask and prediction)"),
                _action(window, "lock_class", "&Lock / Unlock Selected Class", panel.toggle_locked, ("L",),
                        tip="A locked class cannot be painted over"),
                _action(window, "only_unlabeled", "Paint Only &Unlabeled Pixels", None, ("U",), checkable=True,
                        tip="Painting never changes a label (the eraser still erases)")):
        m.insertAction(before, act)
    m.insertSeparator(before)
    only = window.actions_by_name["only_unlabeled"]
    only.toggled.connect(lambda on: session.view.set_only_unlabeled(on))

    def follow(aspect: str) -> None:
        if aspect == "rules" and only.isChecked() != session.view.rules.only_unlabeled:
            only.blockSignals(True)
            only.setChecked(session.view.rules.only_unlabeled)
            only.blockSignals(False)

    session.events.connect("view_changed", follow)
