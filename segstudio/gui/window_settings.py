"""What the main window remembers between sessions (QSettings): tools, opacities, layers shown, layout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

from segstudio.gui import settings as app_settings

if TYPE_CHECKING:
    from segstudio.gui.main_window import MainWindow


def restore_tool_settings(window: MainWindow) -> None:
    """Tool, brush size, wand tolerance, opacities and shown layers of the last session."""
    r, canvas = app_settings.read_value, window.canvas
    canvas.brush_size = r("tools/brush_size", canvas.brush_size, int)  # the canvas clamps both
    window.brush_spin.setValue(canvas.brush_size)
    canvas.wand_tolerance = r("tools/wand_tolerance", canvas.wand_tolerance, int)
    for slider, key, setter in ((window.opacity_slider, "tools/mask_opacity", canvas.set_mask_opacity),
                                (window.prediction_opacity_slider, "tools/prediction_opacity",
                                 canvas.set_prediction_opacity)):
        opacity = max(0.0, min(1.0, r(key, 0.5, float)))
        slider.setValue(round(opacity * 100))
        setter(opacity)
    tool = r("tools/tool", "brush", str)
    actions = window.actions_by_name
    if f"tool_{tool}" in actions:
        actions[f"tool_{tool}"].setChecked(True)
        canvas.set_tool(tool)
    actions["show_mask"].setChecked(r("tools/mask_visible", True, bool))
    actions["show_prediction"].setChecked(r("tools/prediction_visible", True, bool))


def restore_layout(window: MainWindow) -> None:
    """Window geometry and dock layout."""
    geometry = app_settings.read_value("window/geometry", None)
    state = app_settings.read_value("window/state", None)
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)


def save_window_settings(window: MainWindow) -> None:
    canvas, actions = window.canvas, window.actions_by_name
    app_settings.write_values({
        "window/geometry": window.saveGeometry(),
        "window/state": window.saveState(),
        "tools/tool": canvas.tool,
        "tools/brush_size": int(canvas.brush_size),
        "tools/wand_tolerance": int(canvas.wand_tolerance),
        "tools/mask_opacity": window.opacity_slider.value() / 100.0,
        "tools/prediction_opacity": window.prediction_opacity_slider.value() / 100.0,
        "tools/mask_visible": actions["show_mask"].isChecked(),
        "tools/prediction_visible": actions["show_prediction"].isChecked(),
    })
