"""The part of the canvas that keeps large images from blocking the GUI thread (mixed into CanvasView).

Up to ``SYNC_PIXELS`` everything happens at once. Above: the prediction overlay (with its confidence
shading) and the photo's reduced copies are computed on a thread pool (:mod:`.background`) and swapped in
when ready, and the mask overlay is filled a strip of rows per event-loop turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    import numpy as np

#: Up to this many pixels overlays are prepared at once on the GUI thread (a few ms); above, in the background.
SYNC_PIXELS = 1024 * 1024
#: Pixels of the mask overlay copied per event-loop turn while a large image's mask is being filled in.
MASK_STRIP_PIXELS = 4 * 1024 * 1024


class AsyncOverlaysMixin:
    """Needs the canvas' ``_jobs`` (BackgroundJobs), ``_image``, ``_document``, the three layers,
    ``_has_prediction`` / ``_pred_shown``, ``_mask_rows_done``, ``_mask_fill_timer`` and the
    ``predictionDisplayed`` signal."""

    def set_prediction(self, mask: np.ndarray | None, confidence: np.ndarray | None = None) -> None:
        """Show a predicted class mask (255 = no prediction); low-confidence pixels are dimmed.

        Small images are coloured at once; a large one in the background (the previous prediction of
        the same image stays on screen meanwhile) and ``predictionDisplayed`` tells when it is drawn."""
        self._jobs.cancel("prediction")
        if mask is None or self._pred_layer is None:
            self._has_prediction = False
            self._pred_shown = False
            self.viewport().update()
            return
        if self._image is not None and tuple(mask.shape) != self._image.shape:
            raise ValueError(f"prediction shape {mask.shape} differs from the image's {self._image.shape}")
        if confidence is not None and tuple(confidence.shape) != tuple(mask.shape):
            raise ValueError(f"confidence shape {confidence.shape} differs from the prediction's {mask.shape}")
        layer = self._pred_layer
        if mask.size <= SYNC_PIXELS:
            layer.set_prediction(mask, confidence)
            self._show_prediction_values(layer, None)
            return
        from segstudio.gui.canvas.layers import prediction_values

        n_colors = layer.n_colors
        self._pred_shown = False
        self._jobs.submit("prediction", lambda: prediction_values(mask, confidence, n_colors),
                          lambda values: self._show_prediction_values(layer, values))

    def _show_prediction_values(self, layer, values) -> None:
        if layer is not self._pred_layer:
            return  # another image meanwhile
        if values is not None:
            layer.set_values(values)
        self._has_prediction = True
        self._pred_shown = True
        self.viewport().update()
        self.predictionDisplayed.emit()

    @property
    def has_prediction(self) -> bool:
        """A prediction is set for the image (it may still be being coloured, see ``prediction_ready``)."""
        return self._has_prediction or self._jobs.pending("prediction")

    @property
    def prediction_ready(self) -> bool:
        """The overlay of the last prediction set is the one drawn."""
        return self._has_prediction and self._pred_shown and not self._jobs.pending("prediction")

    @property
    def overlays_ready(self) -> bool:
        """No overlay or reduced copy is still being prepared in the background (tests, benchmarks)."""
        return not self._jobs.pending() and not self._mask_fill_timer.isActive()

    def _fill_mask_strip(self) -> None:
        """Copy the next strip of the document's mask into the (large) mask overlay."""
        layer, doc = self._mask_layer, self._document
        if layer is None or doc is None or self._image is None:
            self._mask_fill_timer.stop()
            return
        w, h = self._image.width, self._image.height
        r0 = self._mask_rows_done
        r1 = min(h, r0 + max(1, MASK_STRIP_PIXELS // max(1, w)))
        layer.write(doc.mask[r0:r1], (0, r0, w, r1))
        self._mask_rows_done = r1
        if r1 >= h:
            self._mask_fill_timer.stop()
            self.viewport().update()

    def _schedule_levels(self, index: int) -> None:
        """Ask for reduced copies down to ``index`` in the next event-loop turn (not inside a paint event:
        starting a pool thread can wait on the GIL, and the paint should end first)."""
        if getattr(self, "_levels_scheduled", False) or self._jobs.pending("levels"):
            return
        self._levels_scheduled = True

        def go() -> None:
            self._levels_scheduled = False
            if self._image_layer is not None:
                self._request_levels(max(index, self._image_layer.level_index(self._zoom)))

        QTimer.singleShot(0, self, go)

    def _request_levels(self, index: int) -> None:
        """Make the photo's reduced copies down to ``index`` in the background, then repaint."""
        layer = self._image_layer
        if layer is None or self._jobs.pending("levels"):
            return
        from segstudio.gui.canvas.layers import reduce_levels

        source, count, have = layer.level_source(), index + 1 - layer.level_count, layer.level_count
        if count <= 0:
            return

        def done(arrays) -> None:
            if layer is self._image_layer and layer.level_count == have:
                layer.add_levels(arrays)
                self.viewport().update()

        self._jobs.submit("levels", lambda: reduce_levels(source, count), done)
