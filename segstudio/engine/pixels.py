"""Native-depth pixels on the device: compact storage, and normalisation to the model's input.

RGB projects keep the uint8 path of :mod:`segstudio.engine.data` (ImageNet mean/std). Native
channel descriptions store each image as small as it is on disk and normalise on the device:

* storage: uint8, int8, int16 as they are; **uint16 as int16 with the same bits** (every device
  op the pipeline uses exists for int16; :func:`to_float` undoes the wrap); float16/32/64 and
  32/64-bit integers as float32. A 16-bit C-channel image costs 2·C bytes a pixel (+1 for its mask).
* input: ``u = (v - low) / (high - low)`` per channel with low/high from the channel description
  (per-image percentiles, computed once when the image is cached, unclipped; or a fixed range,
  clipped to [0, 1]), then ``x = (u - 0.5) / 0.25`` (:data:`NATIVE_MEAN`, :data:`NATIVE_STD`).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from segstudio.core.channels import ChannelSpec

NATIVE_MEAN = 0.5
NATIVE_STD = 0.25


def model_normalization(spec: ChannelSpec) -> tuple[list[float], list[float]]:
    """(mean, std) the model's input is standardised with: ImageNet's for RGB, 0.5/0.25 per native channel."""
    if spec.is_rgb:
        from segstudio.engine.models import IMAGENET_MEAN, IMAGENET_STD

        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    return [NATIVE_MEAN] * spec.count, [NATIVE_STD] * spec.count


def storage_dtype(dtype: np.dtype) -> np.dtype:
    """The numpy dtype an (H, W, C) array is cached as (uint16 -> int16 bits)."""
    dt = np.dtype(dtype)
    if dt in (np.uint8, np.int8, np.int16):
        return dt
    if dt == np.uint16:
        return np.dtype(np.int16)
    if dt == np.bool_:
        return np.dtype(np.uint8)
    return np.dtype(np.float32)


def storage_nbytes(array: np.ndarray) -> int:
    return int(array.size) * storage_dtype(array.dtype).itemsize


def storage_tensor(array: np.ndarray) -> tuple[torch.Tensor, bool]:
    """(C, H, W) CPU tensor of an (H, W, C) array in its storage dtype, and whether it is wrapped uint16.

    No copy when the array already is a (H, W, C) view of planar (C, H, W) memory in its storage dtype.
    """
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W, C) array, got shape {array.shape}")
    wrapped = array.dtype == np.uint16
    store = storage_dtype(array.dtype)
    planes = array.transpose(2, 0, 1)
    if wrapped:
        planes = planes.view(np.int16)
    elif planes.dtype != store:
        planes = planes.astype(store)
        if store == np.float32:
            planes = np.nan_to_num(planes, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    elif planes.dtype.kind == "f":
        planes = np.nan_to_num(planes, nan=0.0, posinf=0.0, neginf=0.0)
    planes = np.ascontiguousarray(planes)
    with warnings.catch_warnings():  # read-only decoded arrays are only ever read
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(planes), wrapped


def to_float(t: torch.Tensor, wrapped: bool) -> torch.Tensor:
    """float32 values of a storage tensor (wrapped uint16 back to 0..65535)."""
    x = t.float()
    return x.remainder_(65536.0) if wrapped else x


def range_tensor(spec: ChannelSpec, data: np.ndarray, device: torch.device) -> torch.Tensor:
    """(4, C) float32 [low; high; unit min; unit max] of an (H, W, C) array under ``spec``, on ``device``."""
    rows = np.concatenate([spec.input_range(data), spec.unit_bounds()])
    return torch.as_tensor(rows, dtype=torch.float32, device=device)


def unit_scale(x: torch.Tensor, lohi: torch.Tensor) -> torch.Tensor:
    """``(x - low) / (high - low)`` per channel of a (C, h, w) or (B, C, h, w) float tensor, within the unit bounds."""
    shape = (-1, 1, 1) if x.dim() == 3 else (1, -1, 1, 1)
    lo, hi = lohi[0].view(shape), lohi[1].view(shape)
    u = (x - lo) / (hi - lo)
    return torch.minimum(torch.maximum(u, lohi[2].view(shape)), lohi[3].view(shape))


def standard_tensors(mean: list[float], std: list[float], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) as (1, C, 1, 1) float32 tensors on ``device`` (unit-scaled units, not 0-255)."""
    return (torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1),
            torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1))


def native_input(t: torch.Tensor, wrapped: bool, lohi: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Model input (B, C, h, w) float32 from a (B, C, h, w) storage tensor, its (4, C) range and the
    (1, C, 1, 1) standardisation tensors (:func:`standard_tensors`)."""
    return (unit_scale(to_float(t, wrapped), lohi.to(t.device)) - mean.to(t.device)) / std.to(t.device)
