"""Bounds on model arguments read from files or the command line, checked before a model is built.

A checkpoint (or ``--model-args``) saying ``{"width": 100000}`` must not make segstudio allocate
hundreds of GB: the arguments are type-checked, the model is built on PyTorch's "meta" device
(shapes only, no memory) and its parameter count compared with :data:`MAX_PARAMETERS`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from segstudio.core.errors import SegstudioError

#: 1e9 parameters = 4 GB of float32 weights, far beyond any segmentation model segstudio ships.
MAX_PARAMETERS = 1_000_000_000
#: Any integer argument above this is refused before even a meta model is built (depth 10**6 would
#: take minutes to construct).
MAX_INT_ARG = 1 << 20
#: Pooling levels: 2**depth is the size multiple an input is padded to.
MAX_DEPTH = 12


def _check_args(args: Any, where: str) -> dict:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise SegstudioError(f"{where}: model arguments must be an object, not {type(args).__name__}")
    for key, value in args.items():
        if not isinstance(key, str):
            raise SegstudioError(f"{where}: model argument names must be text (got {key!r})")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if abs(value) > MAX_INT_ARG or (key == "depth" and value > MAX_DEPTH):
                limit = MAX_DEPTH if key == "depth" else MAX_INT_ARG
                raise SegstudioError(f"{where}: model argument {key}={value} is out of range (at most {limit})")
        elif isinstance(value, float):
            if math.isnan(value) or abs(value) > MAX_INT_ARG:
                raise SegstudioError(f"{where}: model argument {key}={value!r} is out of range")
        else:
            raise SegstudioError(f"{where}: model argument {key!r} must be a number, true/false or text "
                                 f"(got {type(value).__name__})")
    return dict(args)


def check_model_size(name: str, num_classes: int, args: Any, where: str) -> dict:
    """Refuse model arguments of the wrong type, or that would build a model larger than
    :data:`MAX_PARAMETERS`; returns the arguments as a dict. ``where`` names the source."""
    from segstudio.engine.models import create_model

    checked = _check_args(args, where)
    if not checked:
        return checked
    try:
        with torch.device("meta"):
            model = create_model(name, num_classes, pretrained=False, **checked)
    except SegstudioError as exc:
        raise SegstudioError(f"{where}: {exc}") from None
    except (TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise SegstudioError(f"{where}: invalid arguments for model {name!r}: {first}") from None
    count = sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers())
    if count > MAX_PARAMETERS:
        raise SegstudioError(f"{where}: model {name!r} with {checked} would have {count:,} parameters "
                             f"({count * 4 / 1e9:,.0f} GB); refusing (at most {MAX_PARAMETERS:,})")
    return checked
