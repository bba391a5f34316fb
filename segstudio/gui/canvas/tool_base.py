"""The base of the canvas tools: what a mouse press, move, release, double-click or key does.

A tool gets positions in image coordinates (floats) and talks to the canvas through a small surface:
``document()``, ``image()``, ``current_class``, ``brush_size``, ``wand_tolerance``, ``composite_reader()``,
``prediction()``, ``runner``, ``begin_edit(label)`` / ``finish_edit()`` (one undo step, then ``editFinished``),
``classPicked``, ``toolMessage``, ``view_distance(a, b)``, ``update_image_rect(rect)`` and ``viewport().update()``.
The pixel work itself is Qt-free, in :mod:`segstudio.core.painting` and :mod:`segstudio.core.segment_tools`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainter

if TYPE_CHECKING:
    from segstudio.gui.canvas.canvas_view import CanvasView


def painting():
    """:mod:`segstudio.core.painting` (OpenCV + numpy), imported at the first edit so the window opens fast."""
    from segstudio.core import painting as module

    return module


def segment_tools():
    """:mod:`segstudio.core.segment_tools`, imported at first use (OpenCV + numpy)."""
    from segstudio.core import segment_tools as module

    return module


class Tool:
    """Base tool: ignores everything."""

    name = ""
    #: one line for the status bar when the tool is chosen
    hint = ""
    shows_brush = False
    #: the canvas sends double-clicks to :meth:`double_click` (others get them as a second press)
    wants_double_click = False

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        pass

    def move(self, pos: QPointF) -> None:
        pass

    def release(self, pos: QPointF, button: Qt.MouseButton) -> None:
        pass

    def double_click(self, pos: QPointF) -> None:
        pass

    def key(self, key: int) -> bool:
        """Handle a key; True when used."""
        return False

    def options_changed(self) -> None:
        """The current class or the wand tolerance changed (previews follow)."""

    def cancel(self) -> None:
        """Abort whatever is in progress (tool switch, new image)."""

    def draw(self, painter: QPainter) -> None:
        """Draw the tool's feedback in scene coordinates."""

    @property
    def busy(self) -> bool:
        return False
