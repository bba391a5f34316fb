"""Inference: a model plus its classes and normalisation, predicting full-resolution masks.

Images larger than the tile size (the training crop by default) go through overlapping
sliding-window tiles (:func:`segstudio.engine.tiling.predict_tiled`); smaller ones run whole.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segstudio.core.classes import ClassInfo
from segstudio.engine.data import to_model_input
from segstudio.engine.device import autocast_dtype, resolve_device, resolve_precision


@dataclass
class Prediction:
    mask: np.ndarray  # (H, W) uint8 class ids
    confidence: np.ndarray  # (H, W) float32 max softmax probability
    entropy: float  # mean per-pixel entropy in nats


def _fallback_predict_tiled(forward: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, num_classes: int,
                            tile: int = 512, overlap: float = 0.25, batch_size: int = 8) -> torch.Tensor:
    """Overlapping tiles blended with a smooth window (used only if tiling.py is unavailable)."""
    _, h, w = image.shape
    ph, pw = max(0, tile - h), max(0, tile - w)
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph))
    H, W = image.shape[1:]
    stride = max(1, int(tile * (1 - overlap)))
    ys = list(range(0, max(1, H - tile) + 1, stride))
    xs = list(range(0, max(1, W - tile) + 1, stride))
    if ys[-1] + tile < H:
        ys.append(H - tile)
    if xs[-1] + tile < W:
        xs.append(W - tile)
    ramp = torch.hann_window(tile + 2, periodic=False, device=image.device)[1:-1].clamp(min=1e-3)
    weight = ramp[:, None] * ramp[None, :]
    acc = torch.zeros((num_classes, H, W), device=image.device)
    norm = torch.zeros((H, W), device=image.device)
    coords = [(y, x) for y in ys for x in xs]
    for i in range(0, len(coords), batch_size):
        chunk = coords[i:i + batch_size]
        batch = torch.stack([image[:, y:y + tile, x:x + tile] for y, x in chunk])
        probs = forward(batch).float().softmax(1)
        for (y, x), p in zip(chunk, probs):
            acc[:, y:y + tile, x:x + tile] += p * weight
            norm[y:y + tile, x:x + tile] += weight
    return (acc / norm.clamp(min=1e-6))[:, :h, :w]


def predict_tiled(forward, image: torch.Tensor, num_classes: int, tile: int = 512, overlap: float = 0.25,
                  batch_size: int = 8) -> torch.Tensor:
    """tiling.predict_tiled when available, else the internal fallback."""
    try:
        from segstudio.engine.tiling import predict_tiled as impl
    except ImportError:
        impl = _fallback_predict_tiled
    return impl(forward, image, num_classes, tile=tile, overlap=overlap, batch_size=batch_size)


def predict_probs(model: nn.Module, x: torch.Tensor, num_classes: int, tile: int | None, precision: str = "fp32",
                  channels_last: bool = False) -> torch.Tensor:
    """(C, H, W) float32 softmax probabilities for one normalised (1, 3, H, W) input; tiled when larger than ``tile``."""
    dtype = autocast_dtype(precision)
    device_type = x.device.type

    def forward(batch: torch.Tensor) -> torch.Tensor:
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        ctx = torch.autocast(device_type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with ctx:
            return model(batch).float()

    with torch.inference_mode():
        _, _, h, w = x.shape
        if tile is not None and max(h, w) > tile:
            return predict_tiled(forward, x[0], num_classes, tile=tile, overlap=0.25, batch_size=4).float()
        return forward(x)[0].softmax(0)


def probs_to_prediction(probs: torch.Tensor) -> Prediction:
    """Argmax mask, confidence and mean entropy from (C, H, W) probabilities."""
    conf, mask = probs.max(0)
    ent = -(probs * probs.clamp(min=1e-8).log()).sum(0).mean()
    return Prediction(mask.to(torch.uint8).cpu().numpy(), conf.float().cpu().numpy().astype(np.float32), float(ent))


class Predictor:
    """Predicts masks with a trained model. Build with :meth:`from_checkpoint` or :meth:`from_model`."""

    def __init__(self, model: nn.Module, classes: list[ClassInfo], normalization: dict, device: torch.device,
                 tile: int | None = 512, precision: str = "fp32") -> None:
        self.model = model.to(device).eval()
        self.classes = list(classes)
        self.mean = list(normalization.get("mean", [0.485, 0.456, 0.406]))
        self.std = list(normalization.get("std", [0.229, 0.224, 0.225]))
        self.device = device
        self.tile = tile
        self.precision = precision
        self.channels_last = device.type == "cuda"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto") -> "Predictor":
        """Load a checkpoint (weights only, never code); tiles are the training crop size (at least 256)."""
        from segstudio.engine.checkpoint import (build_model_from_checkpoint, checkpoint_classes,
                                                 checkpoint_normalization, load_checkpoint)

        ckpt = load_checkpoint(path)
        dev = resolve_device(device)
        mean, std = checkpoint_normalization(ckpt)
        crop = int((ckpt.get("config") or {}).get("crop", 512))
        precision = "fp32" if dev.type != "cuda" else resolve_precision("auto", dev)
        pred = cls(build_model_from_checkpoint(ckpt), checkpoint_classes(ckpt), {"mean": mean, "std": std}, dev,
                   tile=max(crop, 256), precision=precision)
        pred.checkpoint = ckpt  # type: ignore[attr-defined]
        return pred

    @classmethod
    def from_model(cls, model: nn.Module, classes: list[ClassInfo], normalization: dict, device: torch.device | str,
                   tile: int | None = 512) -> "Predictor":
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        return cls(model, classes, normalization, dev, tile=tile)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def predict_probs(self, rgb: np.ndarray) -> torch.Tensor:
        """(C, H, W) softmax probabilities on the device for an (H, W, 3) uint8 image."""
        x = to_model_input(rgb, self.device, self.mean, self.std)
        return predict_probs(self.model, x, self.num_classes, self.tile, self.precision, self.channels_last)

    def predict(self, rgb: np.ndarray) -> Prediction:
        """Mask, confidence and mean entropy at the image's resolution."""
        return probs_to_prediction(self.predict_probs(rgb))
