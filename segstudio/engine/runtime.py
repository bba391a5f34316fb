"""Process-level helpers for the trainer: seeding and RNG state, callback dispatch, run ids, JSON-safe values."""

from __future__ import annotations

import datetime as _dt
import random
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state(device: torch.device | None = None) -> dict:
    """Global RNG states as tensors (weights_only-loadable); CUDA only for the training device."""
    state = {"torch": torch.get_rng_state()}
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict | None, device: torch.device | None = None) -> None:
    if not state:
        return
    if state.get("torch") is not None:
        torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, torch.Tensor) and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda, device)


def new_run_dir(runs_dir: Path, model: str) -> Path:
    """runs/<YYYYmmdd-HHMMSS>-<model>[-N], not existing yet."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = runs_dir / f"{stamp}-{model}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = runs_dir / f"{base.name}-{n}"
    return path


def dispatch(callbacks: Sequence[object], method: str, *args: Any) -> None:
    """Call ``method`` on every callback that has it."""
    for cb in callbacks:
        fn = getattr(cb, method, None)
        if fn is not None:
            fn(*args)


def jsonable(obj: Any) -> Any:
    """Paths, numpy scalars and tuples made JSON-safe (arrays dropped)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return None
    return obj
