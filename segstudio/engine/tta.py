"""Flip test-time augmentation: the mean of the softmax probabilities over flipped views of a batch.

:func:`tta_forward` wraps any (B, C, h, w) -> logits function (the ``forward`` of the predictor and of
:mod:`segstudio.engine.tiling`) and returns log-probabilities whose softmax is exactly the mean
probability over the views, each flipped back. Everything downstream (tiling, blending, argmax,
confidence, validation) is unchanged, so "flip" costs one forward pass per view and nothing else.
"""

from __future__ import annotations

from typing import Callable

import torch

from segstudio.core.errors import SegstudioError

Forward = Callable[[torch.Tensor], torch.Tensor]

#: TTA modes and the flips (tensor dims of a (B, C, H, W) batch) each averages over
TTA_VIEWS: dict[str, tuple[tuple[int, ...], ...]] = {
    "none": ((),),
    "hflip": ((), (3,)),
    "flip": ((), (3,), (2,), (2, 3)),
}
TTA_MODES = tuple(TTA_VIEWS)


def tta_views(mode: str) -> tuple[tuple[int, ...], ...]:
    """The flip dims of each view for ``mode`` (SegstudioError naming the valid modes otherwise)."""
    try:
        return TTA_VIEWS[mode]
    except KeyError:
        raise SegstudioError(f"unknown test-time augmentation {mode!r}; valid: {', '.join(TTA_MODES)}") from None


def tta_forward(forward: Forward, mode: str) -> Forward:
    """``forward`` itself for "none"; else a function returning log(mean softmax over the flipped views)."""
    views = tta_views(mode)
    if len(views) == 1:
        return forward

    def averaged(batch: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | None = None
        for dims in views:
            probs = forward(batch.flip(dims) if dims else batch).float().softmax(1)
            if dims:
                probs = probs.flip(dims)
            total = probs if total is None else total.add_(probs)
        assert total is not None
        return total.div_(len(views)).log_()  # softmax(log p) == p: callers treat it as logits

    return averaged
