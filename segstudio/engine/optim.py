"""Optimizers (SGD with momentum, Adam, AdamW) and per-step learning-rate schedules with warm-up."""

from __future__ import annotations

import math

import torch

from segstudio.core.errors import SegstudioError


def build_optimizer(name: str, params, lr: float, weight_decay: float = 1e-4, momentum: float = 0.9) -> torch.optim.Optimizer:
    """'sgd' (momentum, Nesterov off), 'adam' or 'adamw'."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise SegstudioError(f"unknown optimizer {name!r}; valid optimizers: sgd, adam, adamw")


def lr_factor(step: int, total_steps: int, warmup_steps: int, kind: str, power: float = 0.9, floor: float = 0.0) -> float:
    """Multiplier of the base lr at ``step``: linear warm-up, then 'poly', 'cosine' or 'none'."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if kind == "none":
        return 1.0
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, max(0.0, (step - warmup_steps) / span))
    if kind == "poly":
        f = (1.0 - t) ** power
    elif kind == "cosine":
        f = 0.5 * (1.0 + math.cos(math.pi * t))
    else:
        raise SegstudioError(f"unknown scheduler {kind!r}; valid schedulers: poly, cosine, none")
    return floor + (1.0 - floor) * f


def build_scheduler(optimizer: torch.optim.Optimizer, kind: str, total_steps: int, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step LambdaLR (its state is just the step count, so it checkpoints cleanly)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, warmup_steps, kind, floor=0.01))
