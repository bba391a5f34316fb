"""What belongs to the model of ONE open project: the active checkpoint, predictions, uncertainties, status.

A :class:`ModelState` is made for each project the session opens and thrown away with it, so a
prediction (or a "Predicted 40 images") of one project can never show in another. Predictions live
in memory (the newest ``max_in_memory``) and, after "Predict all", in PROJECT/predictions/.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError

if TYPE_CHECKING:
    import numpy as np

    from segstudio.core.project import Project

MAX_IN_MEMORY = 500


@dataclass
class Prediction:
    """A predicted class mask (255 = no prediction) and, when known, the per-pixel confidence."""

    mask: np.ndarray
    confidence: np.ndarray | None = None


class ModelState:
    """The model side of one project (see module docstring)."""

    def __init__(self, project: Project, max_in_memory: int = MAX_IN_MEMORY) -> None:
        self.project = project
        self.max_in_memory = max_in_memory
        self.checkpoint: Path | None = None
        self.status = ""
        self._predictions: OrderedDict[str, Prediction] = OrderedDict()
        self.uncertainty: dict[str, float] = {}

    # ---------------------------------------------------------------- predictions
    def put(self, image_id: str, mask: np.ndarray, confidence: np.ndarray | None = None) -> Prediction:
        """Keep the newest prediction of an image (the oldest ones beyond ``max_in_memory`` are dropped)."""
        prediction = Prediction(mask, confidence)
        self._predictions[image_id] = prediction
        self._predictions.move_to_end(image_id)
        while len(self._predictions) > self.max_in_memory:
            self._predictions.popitem(last=False)
        return prediction

    def get(self, image_id: str) -> Prediction | None:
        """The image's prediction: the one in memory, else the one stored in PROJECT/predictions/."""
        pred = self._predictions.get(image_id)
        if pred is not None:
            return pred
        try:
            mask = self.project.read_prediction(image_id)
        except SegstudioError:
            return None
        return None if mask is None else Prediction(mask)

    def has_prediction(self, image_id: str) -> bool:
        return image_id in self._predictions or self.project.prediction_path(image_id).is_file()

    def remap(self, lut: np.ndarray) -> None:
        """Renumber the predictions in memory after a class was deleted (those on disk are remapped by core)."""
        for image_id, pred in list(self._predictions.items()):
            self._predictions[image_id] = Prediction(lut[pred.mask], pred.confidence)

    def __len__(self) -> int:
        return len(self._predictions)

    # ---------------------------------------------------------------- accepting
    def check_classes(self, mask: np.ndarray) -> None:
        """Refuse a prediction holding class ids this project has no class for (it came from another model)."""
        import numpy as np

        n = self.project.num_classes
        bad = np.unique(mask[(mask >= n) & (mask != IGNORE_INDEX)])
        if bad.size:
            shown = ", ".join(str(int(v)) for v in bad[:8])
            raise SegstudioError(f"the prediction holds class id(s) {shown} but {self.project.name} has only "
                                 f"{n} classes (0-{n - 1}); it came from a model of other classes, so it is "
                                 "not accepted")
