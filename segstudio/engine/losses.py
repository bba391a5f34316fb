"""Segmentation losses: cross-entropy (ignore 255, optional class weights), soft Dice, and their sum."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over classes, counting only labeled pixels (target != 255)."""
    num_classes = logits.shape[1]
    valid = (target != IGNORE_INDEX)
    probs = logits.float().softmax(dim=1) * valid[:, None]
    t = torch.where(valid, target, torch.zeros_like(target))
    onehot = F.one_hot(t, num_classes).permute(0, 3, 1, 2).to(probs.dtype) * valid[:, None]
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    return 1.0 - ((2 * inter + eps) / (denom + eps)).mean()


def build_loss(name: str, num_classes: int, class_weights: list[float] | None, device: torch.device) -> LossFn:
    """The loss function for a config name: 'ce', 'dice' or 'ce+dice'."""
    weight = None
    if class_weights is not None:
        if len(class_weights) != num_classes:
            raise SegstudioError(f"class weights have {len(class_weights)} entries but the project has {num_classes} classes")
        weight = torch.tensor([float(w) for w in class_weights], device=device)

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(logits.float(), target, weight=weight, ignore_index=IGNORE_INDEX, reduction="sum")
        # normalise by labeled pixels (0 labeled pixels -> 0 loss, not NaN)
        if weight is None:
            n = (target != IGNORE_INDEX).sum()
        else:
            valid = target != IGNORE_INDEX  # no boolean indexing: it would synchronise a GPU every step
            n = (weight[torch.where(valid, target, torch.zeros_like(target))] * valid).sum()
        return loss / n.clamp(min=1)

    if name == "ce":
        return ce
    if name == "dice":
        return dice_loss
    if name == "ce+dice":
        return lambda logits, target: ce(logits, target) + dice_loss(logits, target)
    raise SegstudioError(f"unknown loss {name!r}; valid losses: ce, dice, ce+dice")
