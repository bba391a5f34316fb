"""Tools that take a region with one click, showing it first under the cursor: the magic wand (the image's
pixels within the tolerance of the one clicked) and the model-assisted click (the connected region of the
prediction under the click).

The preview follows the mouse and the wand tolerance: on images up to ``SYNC_PIXELS`` (512²) it is computed at once
(a flood on a window around the cursor, grown only as far as the region reaches); on larger ones on the job
runner (latest wins) over at most ``PREVIEW_LIMIT`` pixels each side of the cursor. A click computes the exact
region (on the runner for large images) and writes it through the document (one undo step, paint rules apply).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter

from segstudio.gui.canvas.region_preview import RegionOverlay
from segstudio.gui.canvas.tool_base import Tool, segment_tools

if TYPE_CHECKING:
    from segstudio.core.segment_tools import RegionMask

#: up to this many image pixels a preview (and a click's region) is computed at once, above on the runner
SYNC_PIXELS = 512 * 512
#: half size (pixels) of the window a preview on a large image looks at
PREVIEW_LIMIT = 1024
NO_PREDICTION = "No prediction for this image yet: train a model or use Model › Predict Current Image"


class HoverRegionTool(Tool):
    """Shows the region a click at the pixel under the mouse would take; a left click writes it."""

    label = ""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.preview = RegionOverlay(canvas)
        self.seed: tuple[int, int] | None = None  # the pixel the preview is for (kept when the mouse leaves)
        self._key = f"canvas:{id(canvas)}:{self.name}-preview"
        self._commits = 0
        self._pending_commits: set[str] = set()  # clicks on a large image whose region is being computed

    # ---------------------------------------------------------------- what subclasses say
    def region_function(self, x: int, y: int, exact: bool) -> Callable[[], RegionMask | None] | None:
        """A function computing the region for a click at pixel (x, y) (None: nothing can be taken);
        ``exact`` False may limit it to a window around the pixel (previews of large images)."""
        raise NotImplementedError

    def preview_color(self) -> QColor:
        return self.canvas.class_color(self.canvas.current_class)

    # ---------------------------------------------------------------- preview
    def _pixel(self, pos: QPointF) -> tuple[int, int] | None:
        image = self.canvas.image()
        x, y = math.floor(pos.x()), math.floor(pos.y())
        if image is None or not (0 <= x < image.width and 0 <= y < image.height):
            return None
        return (x, y)

    def move(self, pos: QPointF) -> None:
        pixel = self._pixel(pos)
        if pixel is not None and pixel != self.seed:
            self.seed = pixel
            self.refresh()

    def options_changed(self) -> None:
        self.refresh()

    @property
    def preview_pending(self) -> bool:
        return self.canvas.runner.pending(self._key)

    def refresh(self) -> None:
        """Recompute the preview for :attr:`seed` (the current tolerance and class)."""
        image = self.canvas.image()
        if self.seed is None or image is None:
            return
        small = image.width * image.height <= SYNC_PIXELS
        fn = self.region_function(*self.seed, exact=small)
        if fn is None:
            self.canvas.runner.cancel(self._key)
            self.preview.clear()
            return
        color = self.preview_color()
        if small:
            self.canvas.runner.cancel(self._key)
            self.preview.set(fn(), color)
            return

        def work(job):
            region = fn()
            return region, (None if region is None else region.outline())

        self.canvas.runner.submit(self._key, work, lane="io", priority=-3,
                                  on_done=lambda result: self.preview.set(result[0], color, result[1]))

    def cancel(self) -> None:
        self.canvas.runner.cancel(self._key)
        for key in self._pending_commits:
            self.canvas.runner.cancel(key)
        self._pending_commits.clear()
        self.seed = None
        self.preview.clear()

    def draw(self, painter: QPainter) -> None:
        self.preview.draw(painter)

    # ---------------------------------------------------------------- click
    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        doc, pixel, image = self.canvas.document(), self._pixel(pos), self.canvas.image()
        if doc is None or pixel is None or image is None or button != Qt.MouseButton.LeftButton:
            return
        fn = self.region_function(*pixel, exact=True)
        if fn is None:
            return
        value = self.value_for(pixel)
        self.canvas.runner.cancel(self._key)
        self.preview.clear()
        self.seed = None  # the next move shows the region there again
        if image.width * image.height <= SYNC_PIXELS:
            self._write(fn(), value)
            return
        # a large image: the exact region is computed on the runner; every click gets its own job
        self._commits += 1
        key = f"{self._key}:commit{self._commits}"
        self._pending_commits.add(key)

        def done(region) -> None:
            self._pending_commits.discard(key)
            self._write(region, value)

        self.canvas.runner.submit(key, lambda job: fn(), lane="io", priority=-4, on_done=done,
                                  on_error=lambda _e, _t: self._pending_commits.discard(key))

    @property
    def commit_pending(self) -> bool:
        return bool(self._pending_commits)

    def _write(self, region: RegionMask | None, value: int) -> None:
        doc = self.canvas.document()
        if region is None or doc is None:
            return
        self.canvas.begin_edit(self.label)
        segment_tools().write_region(doc, region, value)
        self.canvas.finish_edit()

    def value_for(self, pixel: tuple[int, int]) -> int:
        """The class a click at ``pixel`` writes."""
        return self.canvas.current_class


class WandTool(HoverRegionTool):
    """Magic wand: the image's pixels connected to the click within ``wand_tolerance`` of it (every channel of
    the image as the canvas shows it), written as the current class."""

    name = "wand"
    label = "Magic wand"
    hint = "Magic wand: the preview shows what a click takes; change the tolerance in the toolbar; click to fill"

    def region_function(self, x: int, y: int, exact: bool) -> Callable[[], RegionMask | None] | None:
        image, reader = self.canvas.image(), self.canvas.composite_reader()
        if image is None or reader is None:
            return None
        st, tol = segment_tools(), self.canvas.wand_tolerance
        limit = None if exact else PREVIEW_LIMIT
        return lambda: st.flood_region(reader, image.width, image.height, x + 0.5, y + 0.5, tol, limit=limit)


class RegionTool(HoverRegionTool):
    """Model-assisted click: the 4-connected region of the prediction (same predicted class) under the click is
    written with the current class, or with the predicted one (Shift, or the toolbar's option)."""

    name = "region"
    label = "Predicted region"
    hint = "Predicted region: click to take a predicted region as the current class; Shift: its predicted class"

    def _takes_predicted(self) -> bool:
        shift = bool(self.canvas.modifiers & Qt.KeyboardModifier.ShiftModifier)
        return self.canvas.region_takes_predicted_class != shift

    def region_function(self, x: int, y: int, exact: bool) -> Callable[[], RegionMask | None] | None:
        got = self.canvas.prediction()
        if got is None:
            return None
        pred = got[0]
        st = segment_tools()
        if exact:
            return lambda: (lambda r: None if r is None else r[0])(st.predicted_component(pred, x + 0.5, y + 0.5))

        def limited() -> RegionMask | None:
            if int(pred[y, x]) == 255:
                return None
            return st.flood_region(st.array_reader(pred), pred.shape[1], pred.shape[0], x + 0.5, y + 0.5, 0,
                                   limit=PREVIEW_LIMIT)

        return limited

    def preview_color(self) -> QColor:
        got = self.canvas.prediction()
        if self.canvas.region_takes_predicted_class and got is not None and self.seed is not None:
            return self.canvas.class_color(int(got[0][self.seed[1], self.seed[0]]))
        return super().preview_color()

    def press(self, pos: QPointF, button: Qt.MouseButton) -> None:
        if button == Qt.MouseButton.LeftButton and self.canvas.document() is not None:
            pixel = self._pixel(pos)
            got = self.canvas.prediction()
            if got is None:
                self.canvas.toolMessage.emit(NO_PREDICTION)
                return
            if pixel is not None and int(got[0][pixel[1], pixel[0]]) == 255:
                self.canvas.toolMessage.emit("Nothing is predicted at this pixel")
                return
        super().press(pos, button)

    def value_for(self, pixel: tuple[int, int]) -> int:
        got = self.canvas.prediction()
        if self._takes_predicted() and got is not None:
            return int(got[0][pixel[1], pixel[0]])
        return self.canvas.current_class
