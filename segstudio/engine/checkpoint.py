"""Self-describing checkpoints, written atomically and loaded with ``weights_only=True`` (never runs code)."""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segstudio.core.atomic import atomic_write_bytes
from segstudio.core.classes import ClassInfo
from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint_schema import validate_checkpoint

FORMAT = "segstudio-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, ckpt: dict[str, Any]) -> Path:
    """Serialise ``ckpt`` into memory, then write it atomically (a crash never leaves half a file)."""
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a segstudio checkpoint on the CPU with ``weights_only=True``.

    Raises SegstudioError naming the file when it is missing, truncated, not a segstudio checkpoint,
    or contains pickled code (anything beyond tensors and plain containers).
    """
    path = Path(path)
    if not path.is_file():
        raise SegstudioError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise SegstudioError(f"refusing checkpoint {path}: it contains pickled code or objects that are not plain data ({first[:200]})") from None
    except (zipfile.BadZipFile, EOFError, RuntimeError, OSError, ValueError) as exc:
        raise SegstudioError(f"cannot read checkpoint {path}: truncated or not a PyTorch file ({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any other failure is a bad file, not a crash
        raise SegstudioError(f"cannot read checkpoint {path}: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise SegstudioError(f"{path} is not a segstudio checkpoint (no 'format': '{FORMAT}' entry)")
    version = ckpt.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SegstudioError(f"checkpoint {path}: entry 'version' must be a whole number (got {type(version).__name__})")
    if version > VERSION:
        raise SegstudioError(f"{path} was written by a newer segstudio (checkpoint version {ckpt.get('version')})")
    for key in ("model", "num_classes", "classes", "state_dict"):
        if key not in ckpt:
            raise SegstudioError(f"checkpoint {path} is incomplete: missing {key!r}")
    validate_checkpoint(ckpt, f"checkpoint {path}")  # types and ranges, before anything uses an entry
    ckpt["_path"] = str(path)
    return ckpt


def checkpoint_classes(ckpt: dict[str, Any]) -> list[ClassInfo]:
    """The class list stored in a checkpoint."""
    return [ClassInfo(int(c["id"]), str(c["name"]), str(c.get("color", "#000000"))) for c in ckpt["classes"]]


def checkpoint_normalization(ckpt: dict[str, Any]) -> tuple[list[float], list[float]]:
    """The (mean, std) a checkpoint's model expects (ImageNet's when the checkpoint has none)."""
    from segstudio.engine.models import IMAGENET_MEAN, IMAGENET_STD

    norm = ckpt.get("normalization") or {}
    return list(norm.get("mean", IMAGENET_MEAN)), list(norm.get("std", IMAGENET_STD))


def checkpoint_channels(ckpt: dict[str, Any]):
    """The channel description (:class:`segstudio.core.channels.ChannelSpec`) a checkpoint's model was
    trained on; RGB for checkpoints from before channel descriptions."""
    from segstudio.core.channels import ChannelSpec
    from segstudio.core.errors import ProjectError

    try:
        return ChannelSpec.from_json(ckpt.get("channels"), f"checkpoint {ckpt.get('_path', '')}".strip())
    except ProjectError as exc:
        raise SegstudioError(str(exc)) from None


def build_model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """The checkpoint's model with its weights, in eval mode, on the CPU."""
    from segstudio.engine.models import create_model

    from segstudio.engine.model_limits import check_model_size

    where = f"checkpoint {ckpt.get('_path', '')}".strip()
    validate_checkpoint(ckpt, where)
    spec = ckpt["model"]
    args = dict(check_model_size(spec["name"], ckpt["num_classes"], spec.get("args"), where))  # before allocating
    args.setdefault("in_channels", checkpoint_channels(ckpt).count)
    model = create_model(str(spec["name"]), int(ckpt["num_classes"]), pretrained=False, **args)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, ValueError, TypeError) as exc:
        where = ckpt.get("_path", "checkpoint")
        raise SegstudioError(f"{where}: weights do not fit model {spec['name']!r} ({str(exc).splitlines()[0][:200]})") from None
    return model.eval()
