"""Main-window behaviour: model predictions per image, accepting them into the mask, uncertainty."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError

if TYPE_CHECKING:
    import numpy as np

MAX_PREDICTIONS = 500


class PredictionsMixin:
    """Mixed into MainWindow (uses its predictions dict, browser, canvas, current image)."""

    # ================================================================ predictions
    def _prediction_for(self, image_id: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        pred = self.predictions.get(image_id)
        if pred is None and self.project is not None and self.project.prediction_path(image_id).is_file():
            try:
                mask = self.project.read_prediction(image_id)
            except SegstudioError:
                return None
            if mask is not None:
                pred = (mask, None)
        return pred

    def _show_current_prediction(self) -> None:
        """Put the current image's prediction (when there is one of its shape) on the canvas."""
        image = self.current_image
        if self.current_image_id is None or image is None:
            return
        pred = self._prediction_for(self.current_image_id)
        if pred is not None and pred[0].shape == image.shape:
            self.canvas.set_prediction(pred[0], pred[1])

    def set_prediction(self, image_id: str, mask: np.ndarray, confidence: np.ndarray | None = None) -> None:
        """Keep a model prediction for an image; shown at once when it is the current image."""
        self.predictions[image_id] = (mask, confidence)
        self.predictions.move_to_end(image_id)
        while len(self.predictions) > MAX_PREDICTIONS:
            self.predictions.popitem(last=False)
        self.browser.model.set_predicted(image_id, True)
        if image_id == self.current_image_id and self.current_image is not None:
            if mask.shape == self.current_image.shape:
                self.canvas.set_prediction(mask, confidence)

    def accept_prediction(self, mode: str = "unlabeled") -> bool:
        """Copy the prediction into the mask ("unlabeled": only 255 pixels; "all": everywhere), one undo step."""
        if mode not in ("unlabeled", "all"):
            raise ValueError(f"mode must be 'unlabeled' or 'all', not {mode!r}")
        doc = self.current_document()
        pred = self._prediction_for(self.current_image_id) if self.current_image_id else None
        if doc is None or pred is None or pred[0].shape != doc.shape:
            self.status.showMessage("No prediction to accept for this image", 3000)
            return False
        where = (doc.mask == IGNORE_INDEX) if mode == "unlabeled" else None
        if where is not None:
            where &= pred[0] != IGNORE_INDEX
        changed = doc.replace(pred[0], "accept prediction", where=where)
        if changed:
            self._on_edit_finished()
        return changed

    def set_uncertainty(self, image_id: str, value: float) -> None:
        """Feed the browser's "most uncertain first" order."""
        self.browser.model.set_uncertainty(image_id, value)

