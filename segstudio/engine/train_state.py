"""Everything a training run changes as it goes (:class:`TrainState`), and how a checkpoint holds it.

``TrainState.state_dict()`` is the part of a checkpoint that resumes a run exactly (weights,
optimizer, schedule, scaler, RNG, position, best metric, the running epoch loss);
``load_state_dict()`` puts it back. :func:`training_checkpoint` adds what inference needs
(:class:`RunDescription`), :func:`resumed_config` takes the experiment's settings from a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from segstudio import __version__
from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import FORMAT, VERSION, checkpoint_classes
from segstudio.engine.config import TrainConfig
from segstudio.engine.early_stopping import EarlyStopping
from segstudio.engine.runtime import jsonable, rng_state, set_rng_state

#: config fields a resumed run takes from the checkpoint (so it continues the same experiment)
RESUMED_FIELDS = ("model", "model_args", "batch_size", "lr", "crop", "loss", "class_weights", "optimizer",
                  "scheduler", "warmup_epochs", "weight_decay", "momentum", "seed", "val_fraction",
                  "steps_per_epoch", "scale_range", "flips", "color_jitter", "value_map", "pretrained",
                  "val_every", "tta", "patience")


@dataclass
class TrainPosition:
    """Where training stands: the epoch, the steps done in it and in all, the samples of its order used."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    draw_pos: int = 0  # how many samples of this epoch's global order are used (all ranks together)

    def advance(self, samples: int) -> None:
        """One optimisation step done, which used ``samples`` samples of the epoch's order (all ranks)."""
        self.step += 1
        self.global_step += 1
        self.draw_pos += samples

    def finish_epoch(self) -> None:
        """The epoch is done (trained, validated): the position is the start of the next one."""
        self.epoch += 1
        self.step = 0
        self.draw_pos = 0


@dataclass
class TrainState:
    """What training changes: the model and its optimiser objects, the position, the best metric.

    ``epoch_loss`` is [sum, count] of the step losses of the current epoch (so a run resumed
    mid-epoch reports the same epoch loss).
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    position: TrainPosition = field(default_factory=TrainPosition)
    best_miou: float | None = None
    epoch_loss: list = field(default_factory=lambda: [0.0, 0])
    early_stopping: EarlyStopping = field(default_factory=lambda: EarlyStopping(0))  # --patience

    def add_losses(self, losses: list[float]) -> None:
        self.epoch_loss = [self.epoch_loss[0] + float(sum(losses)), self.epoch_loss[1] + len(losses)]

    def mean_epoch_loss(self) -> float:
        return float(self.epoch_loss[0]) / max(1, int(self.epoch_loss[1]))

    def state_dict(self, device: torch.device) -> dict[str, Any]:
        """The checkpoint entries that resume this state exactly (tensors on the CPU, RNG of ``device``)."""
        pos = self.position
        return {
            "epoch": pos.epoch, "global_step": pos.global_step,
            "position": {"epoch": pos.epoch, "step": pos.step, "draw_pos": pos.draw_pos},
            "epoch_loss": list(self.epoch_loss),
            "best_miou": self.best_miou,
            "early_stopping": self.early_stopping.state_dict(),
            "state_dict": {k: v.detach().clone().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": rng_state(device),
        }

    def load_state_dict(self, ckpt: dict[str, Any], device: torch.device) -> None:
        """Restore from a checkpoint (weights, optimiser objects, RNG, position); one clear error when it does not fit."""
        where = ckpt.get("_path", "the checkpoint")
        try:
            self.model.load_state_dict(ckpt["state_dict"])
        except (KeyError, RuntimeError) as exc:
            raise SegstudioError(f"cannot resume from {where}: its weights do not fit the model "
                                 f"({_first_line(exc)})") from None
        try:
            if ckpt.get("optimizer"):
                self.optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt.get("scheduler"):
                self.scheduler.load_state_dict(ckpt["scheduler"])
            if ckpt.get("scaler") and self.scaler.is_enabled():
                self.scaler.load_state_dict(ckpt["scaler"])
            set_rng_state(ckpt.get("rng") or {}, device)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
            raise SegstudioError(f"cannot resume from {where}: its optimizer, schedule or random state does not fit "
                                 f"this run ({_first_line(exc)})") from None
        p = ckpt.get("position") or {}
        self.position = TrainPosition(int(p.get("epoch", ckpt.get("epoch", 0))), int(p.get("step", 0)),
                                      int(ckpt.get("global_step", 0)), int(p.get("draw_pos", 0)))
        el = ckpt.get("epoch_loss")
        self.epoch_loss = [float(el[0]), int(el[1])] if self.position.step > 0 and el else [0.0, 0]
        self.best_miou = ckpt.get("best_miou")
        self.early_stopping.load_state_dict(ckpt.get("early_stopping"))


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def resumed_config(config: TrainConfig, ckpt: dict[str, Any], class_names: list[str]) -> TrainConfig:
    """``config`` with the experiment's settings taken from ``ckpt``; refuses a project with other classes."""
    saved = TrainConfig.from_json(ckpt.get("config") or {})
    names = [c.name for c in checkpoint_classes(ckpt)]
    if names != list(class_names):
        raise SegstudioError(f"cannot resume from {config.resume}: its classes {names} differ from the project's "
                             f"{list(class_names)}")
    return replace(config, **{k: getattr(saved, k) for k in RESUMED_FIELDS})


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


def training_checkpoint(run: RunDescription, state: TrainState, device: torch.device, metrics: dict) -> dict:
    """The full checkpoint: the state for exact resume plus everything inference needs."""
    cfg = run.config
    return {
        "format": FORMAT, "version": VERSION, "segstudio_version": __version__,
        "model": {"name": cfg.model, "args": dict(cfg.model_args)},
        "num_classes": len(run.classes),
        "classes": [c.to_json() for c in run.classes],
        "normalization": {"mean": list(run.mean), "std": list(run.std)},
        "config": cfg.to_json(),
        "steps_per_epoch": run.steps_per_epoch,
        "metrics": jsonable(metrics),
        "pretrained": run.pretrained,
        "init_source": run.init_source,
        "split": {"train": list(run.train_ids), "val": list(run.val_ids)},
        "channels": run.channels,
        **state.state_dict(device),
    }
