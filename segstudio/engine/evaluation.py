"""Evaluation: ONE function for validation during training and for ``segstudio evaluate``.

:func:`evaluate` runs whole labeled images (cached :class:`~segstudio.engine.data.Sample`s) through a
model with the one inference tile size (:func:`inference_tile`) and returns confusion-matrix and
loss sums (sums, so ranks can all-reduce them). :func:`evaluate_checkpoint` does the same for a
saved checkpoint on a project's labeled images, the same way (same cache, same input path, same
tile, same memory format), so it reproduces the mIoU a run recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import SegstudioError
from segstudio.engine.data import Sample, SampleCache, read_labeled, sample_input
from segstudio.engine.metrics import SegMetrics, confusion_matrix, metrics_from_confusion
from segstudio.engine.predictor import predict_probs

#: smallest inference tile (pixels per side)
MIN_TILE = 512
#: tiles grow with the crop up to this side, then stay at the crop
MAX_CONTEXT_TILE = 1024


def inference_tile(crop: int) -> int:
    """THE tile side for whole-image inference of a model trained on ``crop`` crops.

    Twice the crop (more context per tile, fewer seams), at least 512, at most 1024 unless the
    crop itself is larger. Validation, previews, ``segstudio evaluate`` and the predictor all use it.
    """
    crop = int(crop)
    return max(crop, min(2 * crop, MAX_CONTEXT_TILE), MIN_TILE)


@dataclass
class EvalSums:
    """Confusion matrix (C, C) int64 and [NLL sum, labeled pixels] float64 over some images."""

    confusion: torch.Tensor
    loss: torch.Tensor

    def metrics(self) -> SegMetrics:
        return metrics_from_confusion(self.confusion)

    def mean_loss(self) -> float | None:
        return float(self.loss[0] / self.loss[1]) if float(self.loss[1]) > 0 else None


def evaluate(model: nn.Module, samples: list[Sample], num_classes: int, device: torch.device, mean: list[float],
             std: list[float], tile: int, precision: str = "fp32", channels_last: bool = False, rank: int = 0,
             world_size: int = 1, cancelled: Callable[[], bool] = lambda: False, tta: str = "none") -> EvalSums:
    """Sums over this rank's share of ``samples`` (every ``world_size``-th); leaves ``model`` in eval mode.

    ``tta``: the run's test-time augmentation (:mod:`segstudio.engine.tta`), so evaluate reproduces validation."""
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
    return EvalSums(cm, loss_sum)


def evaluate_checkpoint(checkpoint: str | Path, project_path: str | Path, device: str = "auto", split: str = "all",
                        value_map: dict[int, int] | None = None,
                        warn: Callable[[str], None] = lambda message: None) -> dict:
    """Metrics of a checkpoint on a project's labeled images (``split``: all, or the run's val / train images)."""
    from segstudio.core.project import Project
    from segstudio.engine.checkpoint import (build_model_from_checkpoint, checkpoint_channels, checkpoint_classes,
                                             checkpoint_normalization, load_checkpoint)
    from segstudio.engine.device import resolve_device, resolve_precision

    project = Project.open(Path(project_path).resolve())
    ckpt = load_checkpoint(checkpoint)
    names = [c.name for c in checkpoint_classes(ckpt)]
    if names != project.class_names:
        raise SegstudioError(f"checkpoint {checkpoint} was trained on classes {names}, which differ from "
                             f"{project.root}'s classes {project.class_names}; refusing to evaluate")
    images = project.labeled_images()
    if split != "all":
        wanted = set((ckpt.get("split") or {}).get(split) or [])
        images = [p for p in images if project.image_id(p) in wanted]
    if not images:
        raise SegstudioError(f"no labeled images in {project.root}" + (f" for the {split} split" if split != "all" else ""))
    dev = resolve_device(device)
    channels = checkpoint_channels(ckpt)
    config = ckpt.get("config") or {}
    channels_last = bool(config.get("channels_last", False))
    model = build_model_from_checkpoint(ckpt).to(dev)
    if channels_last:  # the memory layout training validated with: the same numbers to the last bit
        model = model.to(memory_format=torch.channels_last)
    mean, std = checkpoint_normalization(ckpt)
    tile = inference_tile(int(config.get("crop", 512)))
    precision = resolve_precision(str(config.get("precision", "auto")), dev)
    tta = str(config.get("tta", "none"))  # runs from before the option validated without
    C = project.num_classes
    sums = EvalSums(torch.zeros((C, C), dtype=torch.int64, device=dev), torch.zeros(2, dtype=torch.float64, device=dev))
    used = 0
    for path in images:  # one image in memory at a time
        got = read_labeled(project, path, value_map, warn, channels)  # other channels: ChannelMismatchError (exit 2)
        if got is None:
            continue
        cache = SampleCache(dev, channels)  # the same cached form validation reads
        cache.set_samples([(project.image_id(path), got[0], got[1], 0.0)])
        one = evaluate(model, cache.samples, C, dev, mean, std, tile, precision, channels_last, tta=tta)
        sums.confusion += one.confusion
        sums.loss += one.loss
        used += 1
    if not used:
        raise SegstudioError(f"no readable labeled images in {project.root}")
    m = sums.metrics()
    per_class = {name: v for name, v in zip(project.class_names, m.per_class_iou)}
    return {"miou": m.miou, "iou": per_class, "per_class_iou": per_class,
            "dice": m.dice, "per_class_dice": {n: v for n, v in zip(project.class_names, m.per_class_dice)},
            "pixel_acc": m.pixel_acc, "val_loss": sums.mean_loss(), "images": used,
            "checkpoint": str(checkpoint)}
