"""Inference: a model plus its classes and normalisation, predicting full-resolution masks.

Images larger than the tile size (the training crop by default) go through overlapping
sliding-window tiles. :meth:`Predictor.predict` streams them in row bands
(:func:`segstudio.engine.tiling.predict_tiled_mask`): it never holds the (C, H, W) probability
map nor a float copy of the image, so an 8192 x 8192 image needs about the mask, the confidence
map and two rows of tiles. Smaller images run whole.

Models trained on a native channel description (:mod:`segstudio.core.channels`) take (H, W, C)
arrays at native depth, normalised per image exactly as in training; :meth:`Predictor.predict_image`
refuses a :class:`~segstudio.core.image_io.LoadedImage` whose channels differ from the model's
with one :class:`~segstudio.core.errors.ChannelMismatchError` naming the file.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from segstudio.core.channels import ChannelSpec
from segstudio.core.classes import ClassInfo
from segstudio.engine.data import model_input, normalization_tensors
from segstudio.engine.pixels import native_input, range_tensor, standard_tensors, storage_tensor
from segstudio.engine.device import autocast_dtype, resolve_device, resolve_precision
from segstudio.engine.models import IMAGENET_MEAN, IMAGENET_STD
from segstudio.engine.tiling import entropy_sum, predict_tiled, predict_tiled_mask
from segstudio.engine.tta import tta_forward

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage

#: tiles per forward pass when not given: small on a CPU (cache-friendly), larger on a GPU
CPU_TILE_BATCH = 4
CUDA_TILE_BATCH = 8
#: overlap between neighbouring tiles, as a fraction of the tile
TILE_OVERLAP = 0.25


@dataclass
class Prediction:
    mask: np.ndarray  # (H, W) uint8 class ids
    confidence: np.ndarray  # (H, W) float32 max softmax probability
    entropy: float  # mean per-pixel entropy in nats


def default_tile_batch(device: torch.device) -> int:
    """How many tiles one forward pass takes by default on ``device``."""
    return CUDA_TILE_BATCH if device.type == "cuda" else CPU_TILE_BATCH


def model_forward(model: nn.Module, device_type: str, precision: str = "fp32", channels_last: bool = False,
                  mean: list[float] | None = None, std: list[float] | None = None,
                  lohi: torch.Tensor | None = None, wrapped: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """A (B, C, h, w) -> float32 logits function: autocast for ``precision``, optional channels-last.

    With ``mean``/``std`` the batch is raw 0-255 pixels (e.g. uint8 tiles) normalised here, exactly
    as :func:`segstudio.engine.data.to_model_input` does for a whole image; with ``lohi`` too, it is
    native-channel storage (:mod:`segstudio.engine.pixels`) normalised with that (4, C) range.
    """
    dtype = autocast_dtype(precision)
    norm = None

    def forward(batch: torch.Tensor) -> torch.Tensor:
        nonlocal norm
        if lohi is not None and mean is not None and std is not None:
            if norm is None or norm[0].device != batch.device:
                norm = standard_tensors(mean, std, batch.device)
            batch = native_input(batch, wrapped, lohi, *norm)
        elif mean is not None and std is not None:
            if norm is None or norm[0].device != batch.device:
                norm = normalization_tensors(mean, std, batch.device)
            batch = (batch.float() - norm[0]) / norm[1]
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        ctx = torch.autocast(device_type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with ctx:
            return model(batch).float()

    return forward


def predict_probs(model: nn.Module, x: torch.Tensor, num_classes: int, tile: int | None, precision: str = "fp32",
                  channels_last: bool = False, batch_size: int = CPU_TILE_BATCH, tta: str = "none") -> torch.Tensor:
    """(K, H, W) float32 softmax probabilities for one normalised (1, C, H, W) input; tiled when larger than ``tile``.

    ``batch_size`` tiles per forward pass (small by default: during training the model's memory is taken);
    ``tta`` "flip" / "hflip" averages the probabilities over flipped views (:mod:`segstudio.engine.tta`).
    """
    forward = tta_forward(model_forward(model, x.device.type, precision, channels_last), tta)
    with torch.inference_mode():
        _, _, h, w = x.shape
        if tile is not None and max(h, w) > tile:
            return predict_tiled(forward, x[0], num_classes, tile=tile, overlap=TILE_OVERLAP,
                                 batch_size=batch_size).float()
        return forward(x)[0].softmax(0)


def probs_to_prediction(probs: torch.Tensor) -> Prediction:
    """Argmax mask, confidence and mean entropy from (C, H, W) probabilities."""
    conf, mask = probs.max(0)
    entropy = entropy_sum(probs) / max(1, probs.shape[1] * probs.shape[2])
    return Prediction(mask.to(torch.uint8).cpu().numpy(), conf.float().cpu().numpy().astype(np.float32), entropy)


class Predictor:
    """Predicts masks with a trained model. Build with :meth:`from_checkpoint` or :meth:`from_model`.

    ``batch_size`` is how many tiles go through the model at once (default: :func:`default_tile_batch`);
    ``tta`` is the test-time augmentation ("none", "hflip", "flip": the mean over flipped views).
    """

    def __init__(self, model: nn.Module, classes: list[ClassInfo], normalization: dict, device: torch.device,
                 tile: int | None = 512, precision: str = "fp32", batch_size: int | None = None,
                 channels: ChannelSpec | None = None, tta: str = "none") -> None:
        self.model = model.to(device).eval()
        self.classes = list(classes)
        self.channels = channels or ChannelSpec.rgb()  # what the model was trained on
        self.mean = list(normalization.get("mean", IMAGENET_MEAN))
        self.std = list(normalization.get("std", IMAGENET_STD))
        self.device = device
        self.tile = tile
        self.precision = precision
        tta_forward(lambda b: b, tta)  # an unknown mode fails here, naming the valid ones
        self.tta = tta
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"tile batch size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size) if batch_size is not None else default_tile_batch(device)
        self.channels_last = device.type == "cuda"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", batch_size: int | None = None,
                        tta: str | None = None) -> "Predictor":
        """Load a checkpoint (weights only, never code); tiles are :func:`~segstudio.engine.evaluation.inference_tile`
        of the training crop, as in validation.

        ``tta`` None: the run's own setting (its validation used it too), "none" for runs from before the option.
        """
        from segstudio.engine.checkpoint import (build_model_from_checkpoint, checkpoint_channels, checkpoint_classes,
                                                 checkpoint_normalization, load_checkpoint)

        ckpt = load_checkpoint(path)
        dev = resolve_device(device)
        mean, std = checkpoint_normalization(ckpt)
        from segstudio.engine.evaluation import inference_tile

        crop = int((ckpt.get("config") or {}).get("crop", 512))
        if tta is None:
            tta = str((ckpt.get("config") or {}).get("tta", "none"))
        precision = resolve_precision("auto", dev)  # fp32 off CUDA
        pred = cls(build_model_from_checkpoint(ckpt), checkpoint_classes(ckpt), {"mean": mean, "std": std}, dev,
                   tile=inference_tile(crop), precision=precision, batch_size=batch_size, channels=checkpoint_channels(ckpt),
                   tta=tta)
        pred.checkpoint = ckpt  # type: ignore[attr-defined]
        return pred

    @classmethod
    def from_model(cls, model: nn.Module, classes: list[ClassInfo], normalization: dict, device: torch.device | str,
                   tile: int | None = 512, batch_size: int | None = None,
                   channels: ChannelSpec | None = None, tta: str = "none") -> "Predictor":
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        return cls(model, classes, normalization, dev, tile=tile, batch_size=batch_size, channels=channels, tta=tta)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _tiled(self, rgb: np.ndarray) -> bool:
        return self.tile is not None and max(rgb.shape[0], rgb.shape[1]) > self.tile

    def model_array(self, image: LoadedImage) -> np.ndarray:
        """What the model sees of a loaded image; ChannelMismatchError naming the file when it does not fit."""
        return self.channels.model_array(image, what="the model")

    def predict_image(self, image: LoadedImage) -> Prediction:
        """:meth:`predict` on a loaded image, after checking its channels against the model's."""
        return self.predict(self.model_array(image))

    def predict_probs(self, rgb: np.ndarray) -> torch.Tensor:
        """(K, H, W) softmax probabilities on the device for an (H, W, 3) uint8 image, or (H, W, C) native
        channels (the whole map: mind huge images)."""
        x = model_input(rgb, self.channels, self.device, self.mean, self.std)
        return predict_probs(self.model, x, self.num_classes, self.tile, self.precision, self.channels_last,
                             self.batch_size, self.tta)

    def predict(self, rgb: np.ndarray) -> Prediction:
        """Mask, confidence (float32) and mean entropy at the image's resolution.

        Images larger than a tile are streamed in row bands from the uint8 pixels: memory stays at
        the outputs (5 bytes a pixel) plus the input on the device and two rows of tiles.
        """
        if not self._tiled(rgb):
            return probs_to_prediction(self.predict_probs(rgb))
        if rgb.ndim != 3 or rgb.shape[2] != self.channels.count:
            raise ValueError(f"expected an (H, W, {self.channels.count}) image, got shape {rgb.shape}")
        lohi, wrapped = None, False
        if self.channels.is_rgb:
            with warnings.catch_warnings():  # a read-only array (e.g. a decoded file) is fine: tiles are only read
                warnings.filterwarnings("ignore", message=".*not writable.*")
                image = torch.from_numpy(rgb).permute(2, 0, 1).to(self.device, non_blocking=True)  # uint8, no float copy
        else:  # native depth, no float copy either: tiles are normalised as they go through the model
            lohi = range_tensor(self.channels, rgb, self.device)
            image, wrapped = storage_tensor(rgb)
            image = image.to(self.device, non_blocking=True)
        forward = tta_forward(model_forward(self.model, self.device.type, self.precision, self.channels_last,
                                            self.mean, self.std, lohi, wrapped), self.tta)
        mask, confidence, entropy = predict_tiled_mask(forward, image, self.num_classes, tile=int(self.tile),
                                                       overlap=TILE_OVERLAP, batch_size=self.batch_size)
        return Prediction(mask, confidence, float(entropy))
