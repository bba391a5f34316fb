"""Training data: images decoded once, cached as tensors on the device, augmented in batches there.

The core loader (:func:`segstudio.core.image_io.load_image`) decodes every labeled image once.
RGB projects cache the 8-bit RGB view (uint8); projects with a native channel description cache
every channel at native depth (:mod:`segstudio.engine.pixels`: 2 bytes a channel for 16-bit) with
each image's normalisation range, computed once. The cache stays on the training device when it
fits (else in pinned CPU memory); each step draws random scaled crops (masks padded with 255),
flips and intensity jitter (RGB: brightness, contrast, saturation; native channels: brightness,
contrast and a gain per channel) on the device, so the GPU never waits for a CPU data loader.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from segstudio.core.channels import ChannelSpec
from segstudio.core.classes import IGNORE_INDEX
from segstudio.core.errors import ImageLoadError, MaskError, MaskNeedsMappingError, SegstudioError
from segstudio.core.image_io import load_image
from segstudio.core.project import Project
from segstudio.engine.pixels import (native_input, range_tensor, standard_tensors, storage_nbytes, storage_tensor,
                                     to_float, unit_scale)

Warn = Callable[[str], None]


@dataclass
class Sample:
    """One labeled image held in memory."""

    image_id: str
    image: torch.Tensor  # (3, H, W) uint8 (RGB) or (C, H, W) storage dtype (native channels)
    mask: torch.Tensor  # (H, W) uint8, 255 = unlabeled
    mtime: float = 0.0
    lohi: torch.Tensor | None = None  # native channels: (4, C) float32 (see pixels.range_tensor) on the training device
    wrapped: bool = False  # native uint16 stored as int16 bits


@dataclass
class AugmentParams:
    """What the random augmentation may do."""

    crop: int
    scale_range: tuple[float, float] = (0.75, 1.33)
    flips: bool = True
    color_jitter: float = 0.15


def read_labeled(project: Project, image_path: Path, value_map: dict[int, int] | None, warn: Warn,
                 channels: ChannelSpec | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(pixels, mask) numpy arrays of one labeled image, or None (with a warning) when it cannot be used.

    ``pixels`` is what the model sees under ``channels`` (default RGB): (H, W, 3) uint8 or (H, W, C)
    native. A mask that needs a value-to-class mapping, and an image whose channels do not fit
    ``channels`` (:class:`ChannelMismatchError`), are errors for the whole run.
    """
    try:
        loaded = load_image(image_path)
    except ImageLoadError as exc:
        warn(f"skipping {image_path}: {exc.reason}")
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped, naming it
        warn(f"skipping {image_path}: cannot read it ({exc})")
        return None
    try:
        mask = project.read_mask(image_path, expected_shape=loaded.shape, value_map=value_map)
    except MaskNeedsMappingError:
        raise
    except MaskError as exc:
        warn(f"skipping {image_path}: {exc}")
        return None
    if mask is None:
        return None
    pixels = (channels or ChannelSpec.rgb()).model_array(loaded)
    for note in loaded.notes:
        warn(f"{image_path}: {note}")
    bad = (mask >= project.num_classes) & (mask != IGNORE_INDEX)
    if bad.any():
        warn(f"{project.mask_path(image_path)}: values {sorted(set(np.unique(mask[bad]).tolist()))[:8]} are not "
             f"class ids (the project has {project.num_classes} classes); treating them as unlabeled")
        mask = np.where(bad, IGNORE_INDEX, mask).astype(np.uint8)
    return pixels, mask


def file_mtime(path: Path) -> float:
    """Modification time, 0.0 when the file is gone."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def split_by_image(image_ids: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split by image: (train ids, val ids). Keeps at least one training image."""
    ids = sorted(image_ids)
    rng = random.Random(seed)
    rng.shuffle(ids)
    n_val = int(round(len(ids) * val_fraction)) if val_fraction > 0 else 0
    if val_fraction > 0 and len(ids) >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, len(ids) - 1)
    val, train = sorted(ids[:n_val]), sorted(ids[n_val:])
    return train, val


def cache_fits_device(total_bytes: int, device: torch.device) -> bool:
    """True when the cache (``total_bytes``) fits comfortably (under 40% of free memory) on a GPU."""
    if device.type != "cuda":
        return device.type == "cpu"
    try:
        free, _ = torch.cuda.mem_get_info(device)
    except Exception:  # noqa: BLE001
        return False
    return total_bytes < 0.4 * free


class SampleCache:
    """The decoded training images as tensors on the device (or pinned CPU memory).

    ``channels`` (default RGB) says what the arrays are: (H, W, 3) uint8 RGB, or native channels
    whose per-image normalisation range is computed here, once.
    """

    def __init__(self, device: torch.device, channels: ChannelSpec | None = None) -> None:
        self.device = device
        self.storage_device = device
        self.channels = channels or ChannelSpec.rgb()
        self.samples: list[Sample] = []

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def nbytes(self) -> int:
        return sum(s.image.numel() * s.image.element_size() + s.mask.numel() for s in self.samples)

    def set_samples(self, arrays: list[tuple[str, np.ndarray, np.ndarray, float]]) -> None:
        """Replace the cache with (image_id, rgb, mask, mtime) arrays, choosing where they live."""
        total = sum(storage_nbytes(rgb) + mask.nbytes for _, rgb, mask, _ in arrays)
        on_device = cache_fits_device(total, self.device)
        self.storage_device = self.device if on_device else torch.device("cpu")
        self.samples = [self._make(i, rgb, mask, mt) for i, rgb, mask, mt in arrays]

    def _make(self, image_id: str, rgb: np.ndarray, mask: np.ndarray, mtime: float) -> Sample:
        """A sample stored on ``storage_device``; pinned when it stays on the CPU for a GPU (fast async copies)."""
        lohi, wrapped = None, False
        if self.channels.is_rgb:
            img = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
        else:
            lohi = range_tensor(self.channels, rgb, self.device)
            img, wrapped = storage_tensor(rgb)
        m = torch.from_numpy(np.ascontiguousarray(mask))
        if self.storage_device.type == "cpu" and self.device.type == "cuda":
            img, m = img.pin_memory(), m.pin_memory()
        else:
            img, m = img.to(self.storage_device), m.to(self.storage_device)
        return Sample(image_id, img, m, mtime, lohi, wrapped)

    def add_or_replace(self, image_id: str, rgb: np.ndarray, mask: np.ndarray, mtime: float) -> None:
        sample = self._make(image_id, rgb, mask, mtime)
        for i, s in enumerate(self.samples):
            if s.image_id == image_id:
                self.samples[i] = sample
                return
        self.samples.append(sample)


def rescan_labeled(project: Project, cache: "SampleCache", exclude: set[str], value_map: dict[int, int] | None,
                   warn: Warn) -> int:
    """Add or refresh cached samples whose mask is new or changed (by mtime); returns how many."""
    known = {s.image_id: s.mtime for s in cache.samples}
    changed = 0
    for path in project.labeled_images():
        image_id = project.image_id(path)
        if image_id in exclude:
            continue
        mtime = file_mtime(project.mask_path(path))
        if known.get(image_id) == mtime:
            continue
        got = read_labeled(project, path, value_map, warn, cache.channels)
        if got is not None:
            cache.add_or_replace(image_id, got[0], got[1], mtime)
            changed += 1
    return changed


def default_steps_per_epoch(samples: list[Sample], crop: int, global_batch: int, min_draws: int = 64) -> int:
    """Enough random crops to cover every training image about once, and at least ``min_draws`` crops."""
    coverage = sum(max(1.0, (s.image.shape[1] * s.image.shape[2]) / float(crop * crop)) for s in samples)
    draws = max(min_draws, int(math.ceil(coverage)))
    return max(1, int(math.ceil(draws / global_batch)))


def _offset(size: int, win: int, u: float) -> int:
    """Window start for uniform ``u`` in [0, 1): inside the image, or negative (padding) when it is smaller."""
    span = abs(size - win)
    off = min(span, int(u * (span + 1)))
    return off if size >= win else -off


def _nearest_index(out_len: int, in_len: int, device: torch.device) -> torch.Tensor:
    return ((torch.arange(out_len, device=device, dtype=torch.float32) + 0.5) * (in_len / out_len)).long().clamp_(0, in_len - 1)


_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
#: uniform numbers each augmented sample uses: scale, y, x, h-flip, v-flip, 3 x colour jitter
#: (native channels draw one more per channel: its gain)
DRAWS_PER_SAMPLE = 8


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 mixer on uint64 arrays (wrapping arithmetic): nearby inputs give unrelated outputs."""
    z = x + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def augment_draws(seed: int, epoch: int, positions: Sequence[int], count: int = DRAWS_PER_SAMPLE) -> torch.Tensor:
    """(n, count) uniform draws in [0, 1) for the samples at the given positions of an epoch's global sample order.

    Counter-based (a hash of seed, epoch, position and draw number): each row depends only on
    (seed, epoch, position), never on the process, the batch split or what was drawn before, so
    N processes with b samples each draw exactly the rows one process with N*b draws, and a run
    resumed mid-epoch continues with the same rows.
    """
    with np.errstate(over="ignore"):
        base = _splitmix64(_splitmix64(np.array([int(seed) & _MASK64], np.uint64)) ^ np.uint64(int(epoch) & _MASK64))
        keys = _splitmix64(base ^ np.asarray(list(positions), dtype=np.int64).astype(np.uint64))
        counters = keys[:, None] + np.arange(1, count + 1, dtype=np.uint64)[None, :] * np.uint64(_GOLDEN)
        bits = _splitmix64(counters) >> np.uint64(11)  # 53 random bits: exactly representable doubles
    return torch.from_numpy(bits.astype(np.float64) * (1.0 / (1 << 53)))


def rank_batch_rows(order: Sequence[int], seed: int, epoch: int, start: int, per_rank: int, rank: int,
                    draws_per_sample: int = DRAWS_PER_SAMPLE) -> tuple[list[int], torch.Tensor]:
    """This process's share of the global batch that begins at position ``start`` of an epoch.

    ``order`` is the epoch's global sample order (the same on every process; wrapped around when
    shorter); rank r takes rows ``[r * per_rank, (r + 1) * per_rank)`` of the global batch.
    Returns (sample indices, their :func:`augment_draws`).
    """
    first = start + rank * per_rank
    positions = range(first, first + per_rank)
    return [order[p % len(order)] for p in positions], augment_draws(seed, epoch, positions, draws_per_sample)


class Augmenter:
    """Draws a batch of augmented crops from a :class:`SampleCache` on the training device.

    The random numbers come from the CPU (:func:`augment_draws`, or a ``torch.Generator``); the
    pixel work runs on the device.
    """

    def __init__(self, params: AugmentParams, device: torch.device, mean: list[float], std: list[float],
                 channels_last: bool = False, native: bool = False) -> None:
        self.p = params
        self.device = device
        self.native = native
        self.mean, self.std = (standard_tensors if native else normalization_tensors)(mean, std, device)
        self.channels_last = channels_last
        #: draws each sample needs (see :func:`augment_draws`)
        self.draws_per_sample = DRAWS_PER_SAMPLE + (len(mean) if native else 0)

    def batch(self, cache: SampleCache, indices: list[int], draws: torch.Generator | torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(images (B,C,c,c) float normalised, masks (B,c,c) long) for the given sample indices.

        ``draws`` is a (B, draws_per_sample) tensor of uniform numbers (see :func:`augment_draws`) or a
        generator to draw them from.
        """
        c = self.p.crop
        lo, hi = self.p.scale_range
        j = self.p.color_jitter
        n = len(indices)
        # every random number is drawn on the CPU up front: no host<->device round trip per step
        need = self.draws_per_sample
        if isinstance(draws, torch.Generator):
            draws = torch.rand((n, need), generator=draws)
        if tuple(draws.shape) != (n, need):
            raise ValueError(f"expected ({n}, {need}) augmentation draws, got {tuple(draws.shape)}")
        r = draws.tolist()
        imgs, masks = [], []
        for k, idx in enumerate(indices):
            s = cache.samples[idx]
            scale = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * r[k][0]) if hi > lo else lo
            win = max(1, int(round(c / scale)))
            h, w = s.image.shape[1], s.image.shape[2]
            y0, x0 = _offset(h, win, r[k][1]), _offset(w, win, r[k][2])
            img, mask = self._window(s, y0, x0, win)
            img = img.float() if s.lohi is None else unit_scale(to_float(img, s.wrapped), s.lohi)
            if win != c:
                img = F.interpolate(img[None], size=(c, c), mode="bilinear", align_corners=False)[0]
                idx_r = _nearest_index(c, win, mask.device)
                mask = mask.index_select(0, idx_r).index_select(1, idx_r)
            if self.p.flips and r[k][3] < 0.5:
                img, mask = img.flip(-1), mask.flip(-1)
            if self.p.flips and r[k][4] < 0.5:
                img, mask = img.flip(-2), mask.flip(-2)
            if j > 0 and s.lohi is None:
                img = _jitter(img, *(1.0 + (2 * r[k][5 + i] - 1) * j for i in range(3)))
            elif j > 0:
                gains = [1.0 + (2 * u - 1) * j for u in r[k][DRAWS_PER_SAMPLE:DRAWS_PER_SAMPLE + img.shape[0]]]
                img = _jitter_channels(img, 1.0 + (2 * r[k][5] - 1) * j, 1.0 + (2 * r[k][6] - 1) * j, gains)
            imgs.append(img)
            masks.append(mask)
        x = torch.stack(imgs)
        y = torch.stack(masks).long()
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _window(self, s: Sample, y0: int, x0: int, win: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A win x win window at (y0, x0), padded (image 0, mask 255) where it leaves the image."""
        h, w = s.image.shape[1], s.image.shape[2]
        ya, yb, xa, xb = max(0, y0), min(h, y0 + win), max(0, x0), min(w, x0 + win)
        img = s.image[:, ya:yb, xa:xb]
        mask = s.mask[ya:yb, xa:xb]
        if img.device != self.device:
            img = img.to(self.device, non_blocking=True)
            mask = mask.to(self.device, non_blocking=True)
        pad = (xa - x0, x0 + win - xb, ya - y0, y0 + win - yb)
        if any(pad):
            img = F.pad(img, pad, value=0)
            mask = F.pad(mask[None], pad, value=IGNORE_INDEX)[0]
        return img, mask


def _jitter(img: torch.Tensor, brightness: float, contrast: float, saturation: float) -> torch.Tensor:
    """Brightness, contrast and saturation jitter of one (3, H, W) image with 0-255 float values (RGB samples)."""
    img = img * brightness
    mean = img.mean()
    img = (img - mean) * contrast + mean
    gray = img.mean(dim=0, keepdim=True)
    img = (img - gray) * saturation + gray
    return img.clamp_(0, 255)


def _jitter_channels(img: torch.Tensor, brightness: float, contrast: float, gains: list[float]) -> torch.Tensor:
    """Brightness, contrast and a gain per channel of one (C, H, W) unit-scaled image (not clipped)."""
    scale = torch.tensor(gains, device=img.device, dtype=img.dtype).view(-1, 1, 1) * brightness
    img = img * scale
    mean = img.mean(dim=(1, 2), keepdim=True)
    return (img - mean) * contrast + mean


def sample_input(s: Sample, device: torch.device, mean: list[float], std: list[float]) -> torch.Tensor:
    """(1, C, H, W) model input of a cached sample (RGB or native channels)."""
    if s.lohi is None:
        return to_model_input(s.image, device, mean, std)
    return native_input(s.image.to(device, non_blocking=True)[None], s.wrapped, s.lohi.to(device),
                        *standard_tensors(mean, std, device))


def model_input(pixels: np.ndarray, channels: ChannelSpec, device: torch.device, mean: list[float],
                std: list[float]) -> torch.Tensor:
    """(1, C, H, W) model input of an (H, W, C) array as ``channels`` describes it (RGB: uint8 (H, W, 3))."""
    if channels.is_rgb:
        return to_model_input(pixels, device, mean, std)
    if pixels.ndim != 3 or pixels.shape[2] != channels.count:
        raise SegstudioError(f"expected an (H, W, {channels.count}) image, got shape {pixels.shape}")
    lohi = range_tensor(channels, pixels, device)
    t, wrapped = storage_tensor(pixels)
    return native_input(t.to(device, non_blocking=True)[None], wrapped, lohi, *standard_tensors(mean, std, device))


def to_model_input(rgb: np.ndarray | torch.Tensor, device: torch.device, mean: list[float], std: list[float]) -> torch.Tensor:
    """(H,W,3) uint8 numpy or (3,H,W) uint8 tensor -> (1,3,H,W) normalised float on ``device``."""
    if isinstance(rgb, np.ndarray):
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise SegstudioError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
        t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    else:
        t = rgb
    t = t.to(device, non_blocking=True).float()[None]
    m, s = normalization_tensors(mean, std, device)
    return (t - m) / s


def normalization_tensors(mean: list[float], std: list[float], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) as (1, 3, 1, 1) tensors on ``device`` in 0-255 pixel units: ``x = (pixels - mean) / std``."""
    return (torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255.0,
            torch.tensor(std, device=device).view(1, 3, 1, 1) * 255.0)
