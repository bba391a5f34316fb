"""The per-epoch validation pass: whole validation images through the model, confusion matrix and loss sums."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.classes import IGNORE_INDEX
from segstudio.engine.data import Sample, sample_input
from segstudio.engine.metrics import confusion_matrix
from segstudio.engine.predictor import predict_probs


def validation_sums(model: nn.Module, samples: list[Sample], num_classes: int, device: torch.device,
                    mean: list[float], std: list[float], precision: str, channels_last: bool, tile: int,
                    rank: int = 0, world_size: int = 1,
                    cancelled: Callable[[], bool] = lambda: False, tta: str = "none") -> tuple[torch.Tensor, torch.Tensor]:
    """(confusion matrix (C, C) int64, [NLL sum, labeled pixel count]) over this rank's share of ``samples``.

    ``tta``: the test-time augmentation the run predicts with (so evaluate reproduces these numbers).

    Sums, not means, so that ranks can all-reduce them. Leaves ``model`` in eval mode.
    """
    cm = torch.zeros((num_classes, num_classes), dtype=torch.int64, device=device)
    loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
    model.eval()
    for s in samples[rank::world_size]:
        if cancelled():
            break
        x = sample_input(s, device, mean, std)
        probs = predict_probs(model, x, num_classes, tile=tile, precision=precision, channels_last=channels_last,
                              tta=tta)
        target = s.mask.to(device).long()
        cm += confusion_matrix(probs.argmax(0), target, num_classes)
        valid = target != IGNORE_INDEX
        nll = F.nll_loss(probs.clamp(min=1e-8).log()[None], torch.where(valid, target, 0)[None], reduction="none")[0]
        loss_sum[0] += (nll * valid).sum().double()
        loss_sum[1] += valid.sum().double()
    return cm, loss_sum
