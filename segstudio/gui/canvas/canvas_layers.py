"""What the canvas draws of each layer: visibility and opacity, the prediction's style, the hidden classes.

The canvas owns one :class:`CanvasLayers` (``canvas.layers``); the window's display controller sets it from
the session's view state. Every change repaints the viewport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segstudio.session.view_state import DEFAULT_LAYERS, PREDICTION_STYLES, LayerSettings

if TYPE_CHECKING:
    from segstudio.gui.canvas.canvas_view import CanvasView

#: the label-dependent copy of the prediction each style draws (see ``layers.DERIVED``)
STYLE_COPY = {"unlabeled": "unlabeled", "disagreement": "disagreement"}


class CanvasLayers:
    """See the module docstring."""

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas
        self._layers: dict[str, LayerSettings] = dict(DEFAULT_LAYERS)
        self.prediction_style = "unlabeled"
        self.hidden: frozenset[int] = frozenset()

    def set(self, name: str, visible: bool | None = None, opacity: float | None = None) -> None:
        """Show or hide a layer (image, mask, prediction, uncertainty) or change its opacity (0..1)."""
        old = self._layers[name]
        self._layers[name] = LayerSettings(old.visible if visible is None else bool(visible),
                                           old.opacity if opacity is None else max(0.0, min(1.0, float(opacity))))
        self.canvas.viewport().update()

    def settings(self, name: str) -> LayerSettings:
        return self._layers[name]

    def opacity(self, name: str) -> float:
        return self._layers[name].opacity

    def drawn(self, name: str) -> bool:
        """The layer is visible and not fully transparent."""
        layer = self._layers[name]
        return layer.visible and layer.opacity > 0

    def set_style(self, style: str) -> None:
        """How the prediction is drawn: one of ``session.view_state.PREDICTION_STYLES``."""
        if style not in PREDICTION_STYLES:
            raise ValueError(f"unknown prediction style {style!r}")
        self.prediction_style = style
        self.canvas.overlays.ensure_kinds(self.kinds_needed())
        self.canvas.viewport().update()

    def kinds_needed(self) -> tuple[str, ...]:
        """The label-dependent copies of the prediction the current style draws."""
        kind = STYLE_COPY.get(self.prediction_style)
        return (kind,) if kind else ()

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Classes drawn neither in the mask nor in the prediction (their pixels show the image)."""
        self.hidden = frozenset(hidden)
        for layer in (self.canvas.mask_layer, self.canvas.prediction_layer):
            if layer is not None:
                layer.set_hidden(self.hidden)
        self.canvas.viewport().update()
