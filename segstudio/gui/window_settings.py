"""What the main window remembers between sessions (QSettings): tools, the layers (visibility, opacity, the
prediction style), layout. Hidden and locked classes and display settings belong to the open project and this
session; channel names and colours are stored in the project (segstudio.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from segstudio.gui import settings as app_settings
from segstudio.session.view_state import LAYER_ORDER, PREDICTION_STYLES

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow


def restore_tool_settings(window: MainWindow) -> None:
    """Tool, brush size, wand tolerance and the layers of the last session."""
    r, canvas = app_settings.read_value, window.canvas
    canvas.brush_size = r("tools/brush_size", canvas.brush_size, int)  # the canvas clamps both
    window.brush_spin.setValue(canvas.brush_size)
    canvas.wand_tolerance = r("tools/wand_tolerance", canvas.wand_tolerance, int)
    view = window.session.view
    for name in LAYER_ORDER:
        layer = view.layers[name]
        view.set_layer(name, _layer_value(name, "visible", layer.visible, bool),
                       _layer_value(name, "opacity", layer.opacity, float))
    style = r("layers/prediction_style", view.prediction_style, str)
    if style in PREDICTION_STYLES:
        view.set_prediction_style(style)
    tool = r("tools/tool", "brush", str)
    actions = window.actions_by_name
    if f"tool_{tool}" in actions:
        actions[f"tool_{tool}"].setChecked(True)
        canvas.set_tool(tool)


def _layer_value(name: str, field: str, default, kind):
    """A saved layer setting; the mask's and prediction's from before the layers panel when there is none."""
    old = {"mask": "tools/mask", "prediction": "tools/prediction"}.get(name)
    if old is not None:
        default = app_settings.read_value(f"{old}_{field}", default, kind)
    return app_settings.read_value(f"layers/{name}/{field}", default, kind)


def restore_layout(window: MainWindow) -> None:
    """Window geometry and dock layout."""
    geometry = app_settings.read_value("window/geometry", None)
    state = app_settings.read_value("window/state", None)
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)


def save_window_settings(window: MainWindow) -> None:
    canvas, view = window.canvas, window.session.view
    layers = {}
    for name in LAYER_ORDER:
        layers[f"layers/{name}/visible"] = view.layers[name].visible
        layers[f"layers/{name}/opacity"] = float(view.layers[name].opacity)
    app_settings.write_values({
        **layers,
        "layers/prediction_style": view.prediction_style,
        "window/geometry": window.saveGeometry(),
        "window/state": window.saveState(),
        "tools/tool": canvas.tool,
        "tools/brush_size": int(canvas.brush_size),
        "tools/wand_tolerance": int(canvas.wand_tolerance),
    })
