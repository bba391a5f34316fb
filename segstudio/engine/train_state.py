"""What a training checkpoint holds beyond the weights, and how a run resumes from one.

The trainer builds its checkpoints with :func:`training_checkpoint` and restores from one with
:func:`resumed_config` (the experiment's settings) and :func:`restore_training_state` (optimizer,
scheduler, scaler, RNG and the position inside the epoch), so a resumed run continues exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from segstudio import __version__
from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import FORMAT, VERSION, checkpoint_classes
from segstudio.engine.config import TrainConfig
from segstudio.engine.runtime import jsonable, rng_state, set_rng_state

#: config fields a resumed run takes from the checkpoint (so it continues the same experiment)
RESUMED_FIELDS = ("model", "model_args", "batch_size", "lr", "crop", "loss", "class_weights", "optimizer",
                  "scheduler", "warmup_epochs", "weight_decay", "momentum", "seed", "val_fraction",
                  "steps_per_epoch", "scale_range", "flips", "color_jitter", "value_map", "pretrained",
                  "val_every", "tta", "patience")


@dataclass
class TrainPosition:
    """Where training stands: epoch and step inside it (steps done)."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    draw_pos: int = 0  # how many samples of this epoch's global order are used (all ranks together)

    def next_epoch(self) -> "TrainPosition":
        """The start of the following epoch."""
        return TrainPosition(self.epoch + 1, 0, self.global_step, 0)


@dataclass
class RestoredState:
    """The training state a checkpoint gives back (besides the weights and the optimizer objects)."""

    position: TrainPosition
    best_miou: float | None
    epoch_loss: list  # [sum, count] of the step losses of the interrupted epoch


def resumed_config(config: TrainConfig, ckpt: dict[str, Any], class_names: list[str]) -> TrainConfig:
    """``config`` with the experiment's settings taken from ``ckpt``; refuses a project with other classes."""
    saved = TrainConfig.from_json(ckpt.get("config") or {})
    names = [c.name for c in checkpoint_classes(ckpt)]
    if names != list(class_names):
        raise SegstudioError(f"cannot resume from {config.resume}: its classes {names} differ from the project's "
                             f"{list(class_names)}")
    return replace(config, **{k: getattr(saved, k) for k in RESUMED_FIELDS})


def restore_training_state(ckpt: dict[str, Any], optimizer: torch.optim.Optimizer, scheduler: Any,
                           scaler: torch.amp.GradScaler, device: torch.device, steps_per_epoch: int) -> RestoredState:
    """Load optimizer, scheduler, scaler and RNG state from ``ckpt``; return where training stands."""
    try:
        if ckpt.get("optimizer"):
            optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scheduler"):
            scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt.get("rng") or {}, device)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        where = ckpt.get("_path", "the checkpoint")
        raise SegstudioError(f"cannot resume from {where}: its optimizer, schedule or random state does not fit "
                             f"this run ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})") from None
    p = ckpt.get("position") or {}
    pos = TrainPosition(int(p.get("epoch", ckpt.get("epoch", 0))), int(p.get("step", 0)),
                        int(ckpt.get("global_step", 0)), int(p.get("draw_pos", 0)))
    if pos.step >= steps_per_epoch:
        pos = pos.next_epoch()
    el = ckpt.get("epoch_loss")
    epoch_loss = [float(el[0]), int(el[1])] if pos.step > 0 and el else [0.0, 0]
    return RestoredState(pos, ckpt.get("best_miou"), epoch_loss)


@dataclass
class RunDescription:
    """What a run's checkpoints say about it that does not change while it trains."""

    config: TrainConfig
    classes: list[ClassInfo]
    mean: list[float]
    std: list[float]
    steps_per_epoch: int
    pretrained: str | None
    train_ids: list[str]
    val_ids: list[str]
    init_source: dict | None = None  # where the initial weights came from (--init), see engine/init_from.py
    channels: dict | None = None  # the ChannelSpec's JSON (None: RGB)


def training_checkpoint(run: RunDescription, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                        scaler: torch.amp.GradScaler, device: torch.device, pos: TrainPosition, epoch_loss: list,
                        best_miou: float | None, metrics: dict) -> dict:
    """The full checkpoint: state for exact resume plus everything inference needs."""
    cfg = run.config
    return {
        "format": FORMAT, "version": VERSION, "segstudio_version": __version__,
        "model": {"name": cfg.model, "args": dict(cfg.model_args)},
        "num_classes": len(run.classes),
        "classes": [c.to_json() for c in run.classes],
        "normalization": {"mean": list(run.mean), "std": list(run.std)},
        "config": cfg.to_json(),
        "epoch": pos.epoch, "global_step": pos.global_step,
        "position": {"epoch": pos.epoch, "step": pos.step, "draw_pos": pos.draw_pos},
        "steps_per_epoch": run.steps_per_epoch,
        "epoch_loss": list(epoch_loss),
        "metrics": jsonable(metrics),
        "best_miou": best_miou,
        "pretrained": run.pretrained,
        "init_source": run.init_source,
        "split": {"train": list(run.train_ids), "val": list(run.val_ids)},
        "channels": run.channels,
        "state_dict": {k: v.detach().clone().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "rng": rng_state(device),
    }
