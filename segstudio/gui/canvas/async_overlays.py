"""The part of the canvas that keeps large images from blocking the GUI thread.

Up to ``SYNC_PIXELS`` everything happens at once. Above, :class:`OverlayPreparer` has the prediction
overlay (with its confidence shading and the copy hiding labeled pixels) and the photo's reduced copies
computed on the job runner and swapped in when ready, and fills the mask overlay a strip of rows per
event-loop turn. Results for an image the canvas no longer shows are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.mask_document import Rect
    from segstudio.gui.canvas.canvas_view import CanvasView
    from segstudio.gui.canvas.layers import PredictionLayer
    from segstudio.gui.jobs import JobRunner

#: Up to this many pixels overlays are prepared at once on the GUI thread (a few ms); above, in the background.
SYNC_PIXELS = 1024 * 1024
#: Pixels of the mask overlay copied per event-loop turn while a large image's mask is being filled in.
MASK_STRIP_PIXELS = 4 * 1024 * 1024


class OverlayPreparer:
    """Prepares the canvas' overlays and reduced copies, in the background for large images."""

    def __init__(self, canvas: CanvasView, runner: JobRunner) -> None:
        self.canvas, self.runner = canvas, runner
        self._key = f"canvas:{id(canvas)}"
        self.has_prediction = False  # a prediction is set for the image (maybe still being coloured)
        self.prediction_shown = False  # the prediction layer holds the pixels of the current prediction
        self.mask_rows_done = 0  # rows of the mask overlay filled in so far (large images)
        self._edited_meanwhile: Rect | None = None  # mask edits while the prediction was coloured
        self._levels_scheduled = False
        self.mask_fill_timer = QTimer(canvas, interval=0)
        self.mask_fill_timer.timeout.connect(self._fill_mask_strip)

    # ---------------------------------------------------------------- state
    def reset(self, same_image: bool) -> None:
        """A new image or document is shown: forget what was being prepared for the old one."""
        self.has_prediction = self.prediction_shown = False
        self.runner.cancel(self._key + ":prediction")
        self.mask_fill_timer.stop()
        if not same_image:
            self.runner.cancel(self._key + ":levels")

    @property
    def prediction_pending(self) -> bool:
        return self.runner.pending(self._key + ":prediction")

    @property
    def ready(self) -> bool:
        """No overlay or reduced copy is still being prepared (tests, benchmarks)."""
        return (not self.runner.pending(self._key + ":prediction") and not self.runner.pending(self._key + ":levels")
                and not self.mask_fill_timer.isActive())

    @property
    def mask_ready(self) -> bool:
        image = self.canvas.image()
        return image is not None and self.mask_rows_done >= image.height

    # ---------------------------------------------------------------- prediction
    def set_prediction(self, mask: np.ndarray | None, confidence: np.ndarray | None) -> None:
        """Colour a predicted class mask (small images now, large ones in the background)."""
        canvas = self.canvas
        self.runner.cancel(self._key + ":prediction")
        layer = canvas.prediction_layer
        if mask is None or layer is None:
            self.has_prediction = self.prediction_shown = False
            canvas.viewport().update()
            return
        image = canvas.image()
        if image is not None and tuple(mask.shape) != image.shape:
            raise ValueError(f"prediction shape {mask.shape} differs from the image's {image.shape}")
        if confidence is not None and tuple(confidence.shape) != tuple(mask.shape):
            raise ValueError(f"confidence shape {confidence.shape} differs from the prediction's {mask.shape}")
        doc = canvas.document()
        labels = doc.mask if doc is not None else None
        if mask.size <= SYNC_PIXELS:
            layer.set_prediction(mask, confidence, labels)
            self._show(layer, None)
            return
        from segstudio.gui.canvas.layers import hide_labeled, prediction_values

        n_colors = layer.n_colors
        self.prediction_shown = False
        self.has_prediction = True
        self._edited_meanwhile = None

        def work(_job):
            values = prediction_values(mask, confidence, n_colors)
            return values, (hide_labeled(values, labels) if labels is not None else None)

        self.runner.submit(self._key + ":prediction", work, lane="io", priority=-5,
                           on_done=lambda result: self._show(layer, result))

    def _show(self, layer: PredictionLayer, result) -> None:
        canvas = self.canvas
        if layer is not canvas.prediction_layer:
            return  # another image meanwhile
        if result is not None:
            layer.set_values(*result)
            doc = canvas.document()
            if self._edited_meanwhile is not None and doc is not None:
                layer.update_labels(doc.mask, self._edited_meanwhile)
        self._edited_meanwhile = None
        self.has_prediction = self.prediction_shown = True
        canvas.viewport().update()
        canvas.predictionDisplayed.emit()

    def mask_edited(self, rect: Rect) -> None:
        """The mask changed in ``rect``: keep the prediction hidden under labeled pixels there."""
        layer, doc = self.canvas.prediction_layer, self.canvas.document()
        if layer is None or doc is None:
            return
        if self.prediction_pending:
            from segstudio.core.mask_document import union_rect  # numpy: not at startup

            self._edited_meanwhile = union_rect(self._edited_meanwhile, rect)
        layer.update_labels(doc.mask, rect)

    # ---------------------------------------------------------------- the mask overlay of a large image
    def start_mask_fill(self) -> None:
        self.mask_rows_done = 0
        self.mask_fill_timer.start()

    def _fill_mask_strip(self) -> None:
        """Copy the next strip of the document's mask into the (large) mask overlay."""
        canvas = self.canvas
        layer, doc, image = canvas.mask_layer, canvas.document(), canvas.image()
        if layer is None or doc is None or image is None:
            self.mask_fill_timer.stop()
            return
        w, h = image.width, image.height
        r0 = self.mask_rows_done
        r1 = min(h, r0 + max(1, MASK_STRIP_PIXELS // max(1, w)))
        layer.write(doc.mask[r0:r1], (0, r0, w, r1))
        self.mask_rows_done = r1
        if r1 >= h:
            self.mask_fill_timer.stop()
            canvas.viewport().update()

    # ---------------------------------------------------------------- reduced copies of the photo
    def schedule_levels(self, index: int) -> None:
        """Ask for reduced copies down to ``index`` in the next event-loop turn (not inside a paint event)."""
        if self._levels_scheduled or self.runner.pending(self._key + ":levels"):
            return
        self._levels_scheduled = True

        def go() -> None:
            self._levels_scheduled = False
            layer = self.canvas.image_layer
            if layer is not None:
                self._request_levels(max(index, layer.level_index(self.canvas.zoom)))

        QTimer.singleShot(0, self.canvas, go)

    def _request_levels(self, index: int) -> None:
        canvas = self.canvas
        layer = canvas.image_layer
        if layer is None or self.runner.pending(self._key + ":levels"):
            return
        from segstudio.gui.canvas.layers import reduce_levels

        source, count, have = layer.level_source(), index + 1 - layer.level_count, layer.level_count
        if count <= 0:
            return

        def done(arrays) -> None:
            if layer is canvas.image_layer and layer.level_count == have:
                layer.add_levels(arrays)
                canvas.viewport().update()

        self.runner.submit(self._key + ":levels", lambda _job: reduce_levels(source, count), lane="io", on_done=done)
