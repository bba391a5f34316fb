"""Type and range checks of a loaded checkpoint's entries, before anything uses them.

``torch.load(weights_only=True)`` guarantees plain data, not the right data: ``model`` may be a
string, ``num_classes`` "two", ``state_dict`` a list. :func:`validate_checkpoint` turns every such
entry into one :class:`SegstudioError` naming the file and the entry.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from segstudio.core.classes import parse_color
from segstudio.core.errors import SegstudioError

MAX_CLASSES = 255


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _kind(v: Any) -> str:
    return type(v).__name__


class _Checker:
    def __init__(self, ckpt: dict, where: str) -> None:
        self.ckpt = ckpt
        self.where = where

    def fail(self, key: str, expected: str) -> None:
        value = self.ckpt.get(key)
        shown = repr(value) if isinstance(value, (int, float, str)) and len(repr(value)) < 40 else _kind(value)
        raise SegstudioError(f"{self.where}: entry {key!r} must be {expected} (got {shown})")

    def optional(self, key: str, ok, expected: str) -> None:
        if key in self.ckpt and self.ckpt[key] is not None and not ok(self.ckpt[key]):
            self.fail(key, expected)


def _classes_ok(classes: Any, n: int) -> bool:
    if not isinstance(classes, list) or len(classes) != n:
        return False
    names = set()
    for i, c in enumerate(classes):
        if not isinstance(c, dict) or c.get("id", i) != i or not _is_int(c.get("id", i)):
            return False
        name = c.get("name")
        if not isinstance(name, str) or not name.strip() or name in names:
            return False
        names.add(name)
        try:
            parse_color(c.get("color", "#000000"))
        except (ValueError, TypeError):
            return False
    return True


def _normalization_ok(norm: Any, channels: int) -> bool:
    """Finite numbers, positive std, one value per input channel of the model."""
    if not isinstance(norm, dict) or not {"mean", "std"} <= set(norm):
        return False
    for values in (norm["mean"], norm["std"]):
        if not isinstance(values, list) or len(values) != channels or not all(map(_is_number, values)):
            return False
    return all(v > 0 for v in norm["std"])


def _state_dict_ok(sd: Any) -> bool:
    return isinstance(sd, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items())


def _split_ok(split: Any) -> bool:
    return isinstance(split, dict) and all(
        isinstance(split.get(k), list) and all(isinstance(i, str) for i in split[k]) for k in ("train", "val"))


def _position_ok(pos: Any) -> bool:
    return isinstance(pos, dict) and all(_is_int(v) and v >= 0 for v in pos.values())


def _config_ok(cfg: Any) -> bool:
    if not isinstance(cfg, dict):
        return False
    crop = cfg.get("crop")
    return crop is None or (_is_int(crop) and 1 <= crop <= 1 << 16)


def validate_checkpoint(ckpt: dict, where: str) -> None:
    """Raise SegstudioError (naming ``where`` and the entry) unless every entry has a usable type and range."""
    c = _Checker(ckpt, where)
    model = ckpt.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        c.fail("model", "an object with a 'name'")
    if model.get("args") is not None and not isinstance(model.get("args"), dict):
        raise SegstudioError(f"{where}: entry 'model' has 'args' that are not an object ({_kind(model['args'])})")
    n = ckpt.get("num_classes")
    if not _is_int(n) or not 1 <= n <= MAX_CLASSES:
        c.fail("num_classes", f"a whole number from 1 to {MAX_CLASSES}")
    if not _classes_ok(ckpt.get("classes"), n):
        c.fail("classes", f"a list of {n} classes with ids 0..{n - 1} and distinct, non-empty names")
    if not _state_dict_ok(ckpt.get("state_dict")):
        c.fail("state_dict", "a mapping of parameter names to tensors")
    args = model.get("args") or {}
    channels = args.get("in_channels", 3) if isinstance(args.get("in_channels", 3), int) else 3
    described = ckpt.get("channels")  # the channel description of a multi-channel model (see core.channels)
    if isinstance(described, dict) and _is_int(described.get("count")) and 1 <= described["count"] <= 64:
        channels = described["count"]
    c.optional("normalization", lambda v: _normalization_ok(v, channels),
               f"an object with 'mean' and positive 'std' lists of {channels} numbers (one per input channel)")
    c.optional("config", _config_ok, "an object (with a whole-number 'crop')")
    c.optional("split", _split_ok, "an object with 'train' and 'val' lists of image ids")
    c.optional("metrics", lambda v: isinstance(v, dict), "an object")
    for key in ("epoch", "global_step"):
        c.optional(key, lambda v: _is_int(v) and v >= 0, "a whole number >= 0")
    c.optional("steps_per_epoch", lambda v: _is_int(v) and v >= 1, "a whole number >= 1")
    c.optional("position", _position_ok, "an object of whole numbers")
    c.optional("epoch_loss", lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_number, v)),
               "two numbers")
    c.optional("best_miou", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
    for key in ("optimizer", "scheduler", "scaler", "rng"):
        c.optional(key, lambda v: isinstance(v, dict), "an object")
