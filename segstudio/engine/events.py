"""Trainer -> UI events: plain dataclasses with numpy/float payloads, never tensors (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class TrainStart:
    run_dir: Path
    model: str
    device: str
    precision: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    num_train: int
    num_val: int
    class_names: list[str]
    pretrained: str | None = None  # which pretrained weights were used, if any
    start_epoch: int = 0  # > 0 when resuming
    init_source: dict | None = None  # --init: the checkpoint the weights came from (engine/init_from.py InitSource)


@dataclass
class StepEvent:
    epoch: int
    step: int
    global_step: int
    total_steps: int
    loss: float
    lr: float
    images_per_s: float


@dataclass
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None
    miou: float | None
    per_class_iou: list[float | None]
    dice: float | None
    pixel_acc: float | None
    seconds: float


@dataclass
class PreviewEvent:
    image_id: str
    mask: np.ndarray  # (H, W) uint8 at the image's full resolution
    confidence: np.ndarray  # (H, W) float32 in [0, 1]
    epoch: int
    global_step: int  # steps done when the weights were taken (fresh vs stale)
    wall_time: float  # time.time() when it was predicted


@dataclass
class LiveDataPicked:
    """Live training drew its first crop of an edited region (the mask saved while it ran)."""

    image_id: str
    global_step: int  # the step whose batch holds the crop
    box: tuple[int, int, int, int] | None  # the edited region (x0, y0, x1, y1), None = whole image
    new_image: bool  # the image was not a training image before the edit


@dataclass
class CheckpointSaved:
    path: Path
    kind: str  # "best" | "last"
    epoch: int
    miou: float | None


@dataclass
class BatchSizeReduced:
    old: int
    new: int
    reason: str


@dataclass
class TrainEnd:
    status: str  # "completed" | "cancelled" | "failed"
    message: str
    traceback: str | None
    run_dir: Path | None
    best_miou: float | None
    user_error: bool = False  # True when the failure is bad input (CLI exit status 2)


#: event type -> callback method name
CALLBACK_NAMES: dict[type, str] = {
    TrainStart: "on_train_start",
    StepEvent: "on_step",
    EpochEnd: "on_epoch_end",
    PreviewEvent: "on_preview",
    CheckpointSaved: "on_checkpoint",
    BatchSizeReduced: "on_batch_size_reduced",
    LiveDataPicked: "on_live_data",
    TrainEnd: "on_end",
}
