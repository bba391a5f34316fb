"""Device and precision selection."""

from __future__ import annotations

import torch

from segstudio.core.errors import SegstudioError


def resolve_device(spec: str) -> torch.device:
    """'auto' -> cuda if available else cpu; 'cpu', 'cuda', 'cuda:N'. SegstudioError for unusable specs."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(spec)
    except (RuntimeError, ValueError):
        raise SegstudioError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SegstudioError(f"device {spec!r} requested but no CUDA GPU is available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SegstudioError(f"device {spec!r} does not exist (found {torch.cuda.device_count()} GPU(s))")
        if dev.index is None:  # explicit index, so tensors' devices compare equal to it
            dev = torch.device("cuda", torch.cuda.current_device())
    elif dev.type not in ("cpu", "mps"):
        raise SegstudioError(f"unsupported device {spec!r}; use auto, cpu, cuda or cuda:N")
    return dev


def available_devices() -> list[tuple[str, str]]:
    """[(spec, label)], e.g. [("cpu", "CPU"), ("cuda:0", "NVIDIA H100 80GB (79.6 GB)")]."""
    out = [("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append((f"cuda:{i}", f"{props.name} ({props.total_memory / 1e9:.1f} GB)"))
    return out


def resolve_precision(spec: str, device: torch.device) -> str:
    """'auto' -> bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU."""
    spec = (spec or "auto").lower()
    if spec not in ("auto", "fp32", "bf16", "fp16"):
        raise SegstudioError(f"unknown precision {spec!r}; valid: auto, fp32, bf16, fp16")
    if device.type != "cuda":
        if spec == "fp16":
            raise SegstudioError("fp16 precision needs a CUDA GPU; use fp32 or bf16 on the CPU")
        return "fp32" if spec == "auto" else spec
    if spec == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return spec


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype for a resolved precision (None = no autocast)."""
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
