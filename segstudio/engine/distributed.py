"""Data-parallel training helpers (PyTorch DDP under ``torchrun``).

``torchrun --nproc_per_node=N -m segstudio train PROJECT ...`` sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT; :func:`init_distributed` reads them and joins the
process group (NCCL on CUDA, gloo on CPU). Without torchrun every helper is a cheap no-op, so
the trainer calls them unconditionally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn

from segstudio.core.errors import SegstudioError


@dataclass
class DistInfo:
    """Where this process stands in the data-parallel job."""

    enabled: bool = False
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0


NOT_DISTRIBUTED = DistInfo(False, 0, 1, 0, "")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SegstudioError(f"environment variable {name}={value!r} is not an integer") from exc


def launched_by_torchrun() -> bool:
    """True when the torchrun environment asks for more than one process."""
    return "RANK" in os.environ and _env_int("WORLD_SIZE", 1) > 1


def _wants_cuda(device_spec: str) -> bool:
    spec = (device_spec or "auto").strip().lower()
    if spec == "auto":
        return torch.cuda.is_available()
    return spec.startswith("cuda")


def process_info() -> DistInfo:
    """This process's place in the job as torchrun's environment gives it (no group is joined)."""
    if not launched_by_torchrun():
        return NOT_DISTRIBUTED
    return DistInfo(True, _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0), "")


def init_distributed(device_spec: str = "auto") -> DistInfo:
    """Join the torchrun process group, or return a disabled DistInfo when not under torchrun.

    NCCL when the device is CUDA (each process takes GPU ``LOCAL_RANK``), gloo on CPU.
    Calling it again in the same process returns the existing group's info.
    """
    env = process_info()
    if not env.enabled:
        return NOT_DISTRIBUTED
    rank, world_size, local_rank = env.rank, env.world_size, env.local_rank
    use_cuda = _wants_cuda(device_spec)
    if use_cuda:
        if not torch.cuda.is_available():
            raise SegstudioError(f"device {device_spec!r} asked for under torchrun, but CUDA is not available")
        if local_rank >= torch.cuda.device_count():
            raise SegstudioError(
                f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} CUDA device(s) on this node; "
                "use --nproc_per_node at most the number of GPUs"
            )
        torch.cuda.set_device(local_rank)
    backend = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        timeout = timedelta(seconds=_env_int("SEGSTUDIO_DIST_TIMEOUT_S", 1800))
        kwargs: dict = {"backend": backend, "init_method": "env://", "rank": rank,
                        "world_size": world_size, "timeout": timeout}
        if use_cuda:
            kwargs["device_id"] = torch.device("cuda", local_rank)
        try:
            dist.init_process_group(**kwargs)
        except TypeError:  # older torch without device_id
            kwargs.pop("device_id", None)
            dist.init_process_group(**kwargs)
    else:
        backend = str(dist.get_backend())
    return DistInfo(True, rank, world_size, local_rank, backend)


def rank_device(device: torch.device | str, info: DistInfo) -> torch.device:
    """The device this rank uses: ``cuda:LOCAL_RANK`` for a CUDA job, else ``device`` unchanged."""
    device = torch.device(device)
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def is_main_process() -> bool:
    """True on rank 0, and always when not distributed: only this process writes files and reports."""
    return process_info().is_main


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device | str | None = None,
               find_unused_parameters: bool = False) -> nn.Module:
    """DistributedDataParallel around ``model`` when distributed, else ``model`` itself.

    On CUDA, BatchNorm layers become SyncBatchNorm so statistics span the global batch
    (gloo on CPU has no SyncBatchNorm; there each rank normalises over its own share). Buffers
    are not broadcast in the forward pass and the trainer runs backward under ``no_sync()``,
    averaging the gradients itself (:func:`average_gradients`) once every rank has said it did not
    run out of memory: no collective runs between the start of a step and that agreement.
    """
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    device = torch.device(device) if device is not None else next(model.parameters()).device
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DDP(model, device_ids=[device.index if device.index is not None else info.local_rank],
                   find_unused_parameters=find_unused_parameters, broadcast_buffers=False)
    return DDP(model, find_unused_parameters=find_unused_parameters, broadcast_buffers=False)


def average_gradients(model: nn.Module, info: DistInfo) -> None:
    """Average the gradients of ``model``'s parameters over the ranks, one all-reduce per dtype."""
    if not (info.enabled and dist.is_initialized()):
        return
    from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:  # the same layout on every rank, also for a parameter a step did not use
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    for dtype in sorted({p.grad.dtype for p in params}, key=str):
        grads = [p.grad for p in params if p.grad.dtype == dtype]
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(info.world_size)
        for g, avg in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(avg)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module under DDP and/or torch.compile wrappers (what checkpoints save)."""
    seen = 0
    while seen < 8:
        seen += 1
        if hasattr(model, "module") and isinstance(model.module, nn.Module) and (
            type(model).__name__ in ("DistributedDataParallel", "DataParallel")
        ):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            break
    return model


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``t`` over all ranks in place (confusion matrices, loss sums); no-op when not distributed.

    gloo and NCCL reduce int64 and float tensors alike; the result is returned for chaining.
    """
    if info.enabled and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_reduce_mean(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average a float tensor over ranks in place (e.g. the logged step loss)."""
    if info.enabled and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t.div_(info.world_size)
    return t


def broadcast_object(obj, info: DistInfo, src: int = 0):
    """Rank ``src``'s picklable ``obj`` on every rank (e.g. the run directory, the data split)."""
    if not (info.enabled and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank if ``flag`` is True on any rank (e.g. cancel or an out-of-memory retry)."""
    if not (info.enabled and dist.is_initialized()):
        return bool(flag)
    device = torch.device("cuda", torch.cuda.current_device()) if info.backend == "nccl" else torch.device("cpu")
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(info: DistInfo) -> None:
    """Wait for all ranks; no-op when not distributed."""
    if info.enabled and dist.is_initialized():
        if info.backend == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def cleanup(info: DistInfo, wait_for_peers: bool = True) -> None:
    """Leave the process group (call once at the end of training, on every rank).

    With gloo the ranks first meet at a bounded barrier (SEGSTUDIO_DIST_EXIT_TIMEOUT_S, default
    60 s): a rank that tears its group down while a peer is still busy can abort at exit
    ("terminate called without an active exception"). If the peers do not arrive (one failed),
    the group is left as it is, so this rank exits at once and torchrun stops the others.
    Pass ``wait_for_peers=False`` after a failure to skip the barrier.
    """
    if not (info.enabled and dist.is_initialized()):
        return
    if wait_for_peers and info.backend != "nccl":
        try:
            work = dist.barrier(async_op=True)
            work.wait(timeout=timedelta(seconds=_env_int("SEGSTUDIO_DIST_EXIT_TIMEOUT_S", 60)))
        except Exception:  # noqa: BLE001 - a peer failed or vanished: do not hang in destroy
            return
    elif not wait_for_peers:
        return
    dist.destroy_process_group()
