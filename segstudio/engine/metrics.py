"""Confusion-matrix metrics: per-class IoU, mIoU, Dice, pixel accuracy; pixels labeled 255 are ignored."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from segstudio.core.classes import IGNORE_INDEX


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C) int64 matrix, rows = true class, columns = predicted; target 255 ignored."""
    valid = (target != IGNORE_INDEX) & (target < num_classes)
    idx = target[valid].long() * num_classes + pred[valid].long()
    return torch.bincount(idx, minlength=num_classes * num_classes).view(num_classes, num_classes)


@dataclass
class SegMetrics:
    miou: float | None
    per_class_iou: list[float | None]  # None for a class absent from both truth and prediction
    dice: float | None
    per_class_dice: list[float | None]
    pixel_acc: float | None

    def to_json(self) -> dict:
        return {"miou": self.miou, "per_class_iou": self.per_class_iou, "dice": self.dice,
                "per_class_dice": self.per_class_dice, "pixel_acc": self.pixel_acc}


def metrics_from_confusion(cm: torch.Tensor | np.ndarray) -> SegMetrics:
    """Metrics of a confusion matrix. Classes that appear in neither truth nor prediction are left out of the means."""
    cm = np.asarray(cm.cpu() if isinstance(cm, torch.Tensor) else cm, dtype=np.float64)
    tp = np.diag(cm)
    gt = cm.sum(1)
    pr = cm.sum(0)
    union = gt + pr - tp
    total = cm.sum()
    ious: list[float | None] = []
    dices: list[float | None] = []
    for c in range(cm.shape[0]):
        if union[c] > 0:
            ious.append(float(tp[c] / union[c]))
            dices.append(float(2 * tp[c] / (gt[c] + pr[c])))
        else:
            ious.append(None)
            dices.append(None)
    present = [v for v in ious if v is not None]
    present_d = [v for v in dices if v is not None]
    return SegMetrics(
        miou=float(np.mean(present)) if present else None,
        per_class_iou=ious,
        dice=float(np.mean(present_d)) if present_d else None,
        per_class_dice=dices,
        pixel_acc=float(tp.sum() / total) if total > 0 else None,
    )
