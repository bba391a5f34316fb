"""Process-level helpers for the trainer: distributed collectives, RNG state, callback dispatch, run ids."""

from __future__ import annotations

import datetime as _dt
import random
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from segstudio.engine import distributed as D
from segstudio.engine.distributed import NOT_DISTRIBUTED, DistInfo


class DistOps:
    """The trainer's view of :mod:`segstudio.engine.distributed`: collectives that are no-ops in one process."""

    def __init__(self) -> None:
        self.info: DistInfo = NOT_DISTRIBUTED

    def init(self, device_spec: str) -> DistInfo:
        self.info = D.init_distributed(device_spec)
        return self.info

    @property
    def enabled(self) -> bool:
        return bool(self.info.enabled)

    @property
    def is_main(self) -> bool:
        return (not self.enabled) or int(self.info.rank) == 0

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        return D.wrap_model(model, self.info, device) if self.enabled else model

    def any_rank(self, flag: bool) -> bool:
        """True everywhere if ``flag`` is True on any rank (cancel must stop every process at the same step)."""
        return D.any_rank(flag, self.info) if self.enabled else bool(flag)

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        return D.all_reduce_sum(t, self.info) if self.enabled else t

    def all_reduce_mean(self, t: torch.Tensor) -> torch.Tensor:
        return D.all_reduce_mean(t, self.info) if self.enabled else t

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (must be called by all ranks)."""
        return D.broadcast_object(obj, self.info) if self.enabled else obj

    def barrier(self) -> None:
        if self.enabled:
            D.barrier(self.info)

    def cleanup(self, ok: bool = True) -> None:
        if self.enabled:
            D.cleanup(self.info, wait_for_peers=ok)


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
