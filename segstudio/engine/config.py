"""Training configuration (ENGINE_API.md): one dataclass, JSON round-trip for run folders and checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segstudio.core.errors import SegstudioError

LOSSES = ("ce", "dice", "ce+dice")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("poly", "cosine", "none")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the project. Defaults train the demo project well on a CPU."""

    model: str = "unet"
    model_args: dict = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 4
    lr: float = 1e-3
    crop: int = 128
    loss: str = "ce"
    class_weights: list[float] | None = None
    optimizer: str = "adamw"
    scheduler: str = "poly"
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    momentum: float = 0.9
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    val_fraction: float = 0.2
    channels_last: bool = True
    compile: bool = False
    resume: Path | None = None
    out: Path | None = None
    steps_per_epoch: int | None = None  # None = enough random crops even for a 3-image project
    preview_every_epoch: bool = True
    watch_project: bool = False  # live training: re-scan the project's masks at each epoch start
    value_map: dict[int, int] | None = None
    scale_range: tuple[float, float] = (0.75, 1.33)  # random scale augmentation
    flips: bool = True
    color_jitter: float = 0.15
    pretrained: bool = True  # use pretrained backbone weights if already in the torch hub cache

    def validate(self) -> "TrainConfig":
        """Raise SegstudioError naming the first invalid value; returns self."""
        from segstudio.engine.models import available_models

        if self.model not in available_models():
            raise SegstudioError(f"unknown model {self.model!r}; valid models: {', '.join(available_models())}")
        if self.loss not in LOSSES:
            raise SegstudioError(f"unknown loss {self.loss!r}; valid losses: {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise SegstudioError(f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
        if self.scheduler not in SCHEDULERS:
            raise SegstudioError(f"unknown scheduler {self.scheduler!r}; valid schedulers: {', '.join(SCHEDULERS)}")
        if self.precision not in PRECISIONS:
            raise SegstudioError(f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}")
        for name in ("epochs", "batch_size", "crop"):
            if int(getattr(self, name)) < 1:
                raise SegstudioError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})")
        if self.crop < 8:
            raise SegstudioError(f"--crop must be at least 8 pixels (got {self.crop})")
        if not self.lr > 0:
            raise SegstudioError(f"--lr must be positive (got {self.lr})")
        if not 0.0 <= self.val_fraction < 1.0:
            raise SegstudioError(f"--val-fraction must be in [0, 1) (got {self.val_fraction})")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise SegstudioError(f"steps per epoch must be at least 1 (got {self.steps_per_epoch})")
        return self

    def to_json(self) -> dict:
        """A JSON-safe dict (paths as strings, value_map keys as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            elif f.name == "value_map" and v is not None:
                v = {str(k): int(val) for k, val in v.items()}
            out[f.name] = v
        return out

    @classmethod
    def from_json(cls, d: dict) -> "TrainConfig":
        """Inverse of :meth:`to_json`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in dict(d).items() if k in names}
        for key in ("resume", "out"):
            if kw.get(key) is not None:
                kw[key] = Path(kw[key])
        if kw.get("value_map") is not None:
            kw["value_map"] = {int(k): int(v) for k, v in kw["value_map"].items()}
        if kw.get("scale_range") is not None:
            kw["scale_range"] = tuple(float(x) for x in kw["scale_range"])
        if kw.get("model_args") is None:
            kw["model_args"] = {}
        return cls(**kw)
