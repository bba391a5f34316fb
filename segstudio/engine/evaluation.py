"""Evaluation with one tile size: validation during training, previews, and ``segstudio evaluate`` agree."""

from __future__ import annotations

#: smallest inference tile (pixels per side)
MIN_TILE = 512
#: tiles grow with the crop up to this side, then stay at the crop
MAX_CONTEXT_TILE = 1024


def inference_tile(crop: int) -> int:
    """THE tile side for whole-image inference of a model trained on ``crop`` crops.

    Twice the crop (more context per tile, fewer seams), at least 512, at most 1024 unless the
    crop itself is larger. Validation, previews and the predictor all use it.
    """
    crop = int(crop)
    return max(crop, min(2 * crop, MAX_CONTEXT_TILE), MIN_TILE)
