"""The annotation canvas: image + mask + prediction overlays, zoom/pan and the painting tools."""

from __future__ import annotations

from segstudio.gui.canvas.canvas_view import CanvasView
from segstudio.gui.canvas.tools import TOOL_NAMES

__all__ = ["CanvasView", "TOOL_NAMES"]
