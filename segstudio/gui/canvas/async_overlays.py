"""The part of the canvas that keeps large images from blocking the GUI thread.

Up to ``SYNC_PIXELS`` everything happens at once. Above, :class:`OverlayPreparer` has the prediction
overlay (with its confidence shading, the label-dependent copies the prediction style needs and the
uncertainty), the photo's automatic display settings and its reduced copies computed on the job runner and
swapped in when ready, and fills the mask overlay a strip of rows per event-loop turn. Results for an image
the canvas no longer shows are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.display import DisplaySettings
    from segstudio.core.image_io import LoadedImage
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
        self._prediction: tuple[np.ndarray, np.ndarray | None] | None = None  # (mask, confidence) last set
        self.mask_fill_timer = QTimer(canvas, interval=0)
        self.mask_fill_timer.timeout.connect(self._fill_mask_strip)

    # ---------------------------------------------------------------- state
    def reset(self, same_image: bool) -> None:
        """A new image or document is shown: forget what was being prepared for the old one."""
        self.has_prediction = self.prediction_shown = False
        self.runner.cancel(self._key + ":prediction")
        self.runner.cancel(self._key + ":derived")
        self.mask_fill_timer.stop()
        self._prediction = None
        if not same_image:
            self.runner.cancel(self._key + ":levels")
            self.runner.cancel(self._key + ":display")

    @property
    def current_prediction(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(mask, confidence) of the prediction last set for the image shown (maybe still being coloured)."""
        return self._prediction

    @property
    def prediction_pending(self) -> bool:
        return self.runner.pending(self._key + ":prediction")

    @property
    def ready(self) -> bool:
        """No overlay or reduced copy is still being prepared (tests, benchmarks)."""
        return (not any(self.runner.pending(self._key + k) for k in (":prediction", ":levels", ":derived", ":display"))
                and not self.mask_fill_timer.isActive())

    @property
    def mask_ready(self) -> bool:
        image = self.canvas.image()
        return image is not None and self.mask_rows_done >= image.height

    # ---------------------------------------------------------------- prediction
    def set_prediction(self, mask: np.ndarray | None, confidence: np.ndarray | None) -> None:
        """Colour a predicted class mask (small images now, large ones in the background), with the
        label-dependent copies the canvas' prediction style needs and the uncertainty."""
        canvas = self.canvas
        self.runner.cancel(self._key + ":prediction")
        self.runner.cancel(self._key + ":derived")
        layer = canvas.prediction_layer
        if mask is None or layer is None:
            self.has_prediction = self.prediction_shown = False
            self._prediction = None
            if canvas.uncertainty_layer is not None:
                canvas.uncertainty_layer.set_values(None)
            canvas.viewport().update()
            return
        image = canvas.image()
        if image is not None and tuple(mask.shape) != image.shape:
            raise ValueError(f"prediction shape {mask.shape} differs from the image's {image.shape}")
        if confidence is not None and tuple(confidence.shape) != tuple(mask.shape):
            raise ValueError(f"confidence shape {confidence.shape} differs from the prediction's {mask.shape}")
        self._prediction = (mask, confidence)
        doc = canvas.document()
        labels = doc.mask if doc is not None else None
        kinds = canvas.layers.kinds_needed()
        from segstudio.gui.canvas.layers import derived_values, prediction_values, uncertainty_values

        n_colors = layer.n_colors

        def work(_job):
            values = prediction_values(mask, confidence, n_colors)
            derived = {k: derived_values(k, values, mask, labels) for k in kinds} if labels is not None else {}
            return values, derived, (uncertainty_values(mask, confidence) if confidence is not None else None)

        if mask.size <= SYNC_PIXELS:
            self._show(layer, work(None))
            return
        self.prediction_shown = False
        self.has_prediction = True
        self._edited_meanwhile = None
        self.runner.submit(self._key + ":prediction", work, lane="io", priority=-5,
                           on_done=lambda result: self._show(layer, result))

    def _show(self, layer: PredictionLayer, result) -> None:
        canvas = self.canvas
        if layer is not canvas.prediction_layer or self._prediction is None:
            return  # another image meanwhile
        values, derived, uncertainty = result
        layer.set_values(values, self._prediction[0], derived)
        if canvas.uncertainty_layer is not None:
            canvas.uncertainty_layer.set_values(uncertainty)
        doc = canvas.document()
        if self._edited_meanwhile is not None and doc is not None:
            layer.update_labels(doc.mask, self._edited_meanwhile)
        self._edited_meanwhile = None
        self.has_prediction = self.prediction_shown = True
        canvas.viewport().update()
        canvas.predictionDisplayed.emit()
        self.ensure_kinds(canvas.layers.kinds_needed())

    def ensure_kinds(self, kinds: tuple[str, ...]) -> None:
        """Make the label-dependent copies of the shown prediction in ``kinds`` that do not exist yet
        (another prediction style was chosen)."""
        layer, doc = self.canvas.prediction_layer, self.canvas.document()
        if layer is None or doc is None or not layer.ready or self.prediction_pending:
            return
        missing = tuple(k for k in kinds if k not in layer.derived)
        if not missing or self.runner.pending(self._key + ":derived"):
            return
        from segstudio.gui.canvas.layers import derived_values

        values, predicted, labels = layer.source, layer.predicted, doc.mask

        def work(_job):
            return {k: derived_values(k, values, predicted, labels) for k in missing}

        def done(result) -> None:
            if layer is not self.canvas.prediction_layer or layer.source is not values:
                return
            for kind, arr in result.items():
                layer.set_derived(kind, arr)
            if self._edited_meanwhile is not None:
                layer.update_labels(doc.mask, self._edited_meanwhile)
            self._edited_meanwhile = None
            self.canvas.viewport().update()

        if values.size <= SYNC_PIXELS:
            done(work(None))
            return
        self._edited_meanwhile = None
        self.runner.submit(self._key + ":derived", work, lane="io", priority=-5, on_done=done)

    def mask_edited(self, rect: Rect) -> None:
        """The mask changed in ``rect``: keep the label-dependent copies of the prediction up to date there."""
        layer, doc = self.canvas.prediction_layer, self.canvas.document()
        if layer is None or doc is None:
            return
        if self.prediction_pending or self.runner.pending(self._key + ":derived"):
            from segstudio.core.mask_document import union_rect  # numpy: not at startup

            self._edited_meanwhile = union_rect(self._edited_meanwhile, rect)
        layer.update_labels(doc.mask, rect)

    # ---------------------------------------------------------------- automatic display settings
    def auto_display(self, image: LoadedImage, done) -> None:
        """Compute ``default_display`` of ``image`` (now for small images, in the background for large ones)
        and call ``done(settings)`` while it is still the canvas' image."""
        from segstudio.core.display import default_display

        data = image.data

        def deliver(settings: DisplaySettings) -> None:
            if self.canvas.image() is image:
                done(settings)

        if data.shape[0] * data.shape[1] <= SYNC_PIXELS:
            deliver(default_display(data))
            return
        self.runner.submit(self._key + ":display", lambda _job: default_display(data), lane="io", priority=-6,
                           on_done=deliver)

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
        from segstudio.gui.canvas.image_layer import reduce_levels

        source, count, have = layer.level_source(), index + 1 - layer.level_count, layer.level_count
        if count <= 0:
            return

        def done(arrays) -> None:
            if layer is canvas.image_layer and layer.level_count == have:
                layer.add_levels(arrays)
                canvas.viewport().update()

        self.runner.submit(self._key + ":levels", lambda _job: reduce_levels(source, count), lane="io", on_done=done)
