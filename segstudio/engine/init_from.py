"""Start a new run from an earlier model's weights (``segstudio train --init CKPT``).

Not a resume: only the weights are taken; optimizer, schedule and epoch start fresh. The checkpoint
(any project) must hold the same model with the same arguments and input channels, else it is
refused with one line. When its class list differs from the project's, every layer but the
classifier head is loaded and the head is re-initialised, keeping the outputs of the classes whose
names both lists share. The run records where its weights came from as :class:`InitSource`
(``init_source`` in config.json and in every checkpoint).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import checkpoint_classes, load_checkpoint


@dataclass
class InitSource:
    """Where a run's initial weights came from; ``to_json()`` is what config.json and checkpoints store."""

    path: str  # absolute path of the checkpoint file
    sha256: str  # sha256 hex digest of that file
    model: str  # its model name
    model_args: dict = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)  # its class names
    head: str = "loaded"  # "loaded" (same classes) | "reinitialized" (the class lists differ)
    head_classes_kept: list[str] = field(default_factory=list)  # classes whose head weights were copied

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "InitSource":
        """Inverse of :meth:`to_json` (unknown keys ignored)."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def note(self, project_classes: list[str]) -> str | None:
        """The one-line warning for a re-initialised head (None when the whole model was loaded)."""
        if self.head == "loaded":
            return None
        kept = f"kept the weights of {', '.join(self.head_classes_kept)}" if self.head_classes_kept else \
            "no class in common"
        return (f"--init {self.path}: its classes ({', '.join(self.classes)}) differ from the project's "
                f"({', '.join(project_classes)}); classifier head re-initialised ({kept})")


def init_architecture(path: str | Path) -> tuple[str, dict]:
    """The model name and arguments of checkpoint ``path`` (so ``--init`` without ``--model`` trains it)."""
    ckpt = load_checkpoint(path)
    spec = ckpt["model"] if isinstance(ckpt["model"], dict) else {}
    return str(spec.get("name")), dict(spec.get("args") or {})


def check_init(path: str | Path, model_name: str, model_args: dict, class_names: list[str]) -> InitSource:
    """What ``--init path`` would record for this model and these classes, without training (the model is
    built on the meta device); raises the same one-line SegstudioError as training would. For forms."""
    from segstudio.engine.models import create_model

    with torch.device("meta"):
        own = create_model(model_name, len(class_names), pretrained=False, **dict(model_args)).state_dict()
    return _plan(path, own, model_name, model_args, class_names)[1]


def init_from_checkpoint(model: nn.Module, path: str | Path, model_name: str, model_args: dict,
                         class_names: list[str]) -> InitSource:
    """Load checkpoint ``path``'s weights into ``model`` (built as ``model_name`` for ``class_names``).

    Raises SegstudioError with one line for another model, other arguments or input channels.
    """
    own = model.state_dict()
    src, record, head = _plan(path, own, model_name, model_args, class_names)
    state = {k: v for k, v in src.items() if k not in head}
    for k in head:
        if record.head == "loaded":
            state[k] = src[k]
            continue
        fresh = own[k].detach().clone()
        for i, name in enumerate(class_names):
            if name in record.classes:
                fresh[i] = src[k][record.classes.index(name)].to(fresh.dtype)
        state[k] = fresh
    model.load_state_dict(state, strict=True)
    return record


def _plan(path: str | Path, own: dict[str, torch.Tensor], model_name: str, model_args: dict,
          class_names: list[str]) -> tuple[dict[str, torch.Tensor], InitSource, set[str]]:
    """Load and check the checkpoint against the model's state ``own``: its tensors, the record, the head keys."""
    path = Path(path).expanduser().resolve()
    ckpt = load_checkpoint(path)
    spec = ckpt["model"] if isinstance(ckpt["model"], dict) else {}
    src_name, src_args = str(spec.get("name")), dict(spec.get("args") or {})
    if src_name != model_name:
        raise SegstudioError(f"cannot start from {path}: it holds a {src_name} model and this run trains {model_name} "
                             f"(use --model {src_name}, or leave --model out)")
    src = ckpt["state_dict"]
    if not isinstance(src, dict) or not all(isinstance(v, torch.Tensor) for v in src.values()):
        raise SegstudioError(f"cannot start from {path}: its state_dict is not a set of tensors")
    src_classes = [c.name for c in checkpoint_classes(ckpt)]
    _check_channels(path, own, src)
    head = head_keys(model_name, model_args, own, len(class_names))
    _check_architecture(path, own, src, head, model_name, model_args, src_args, len(src_classes))
    same = src_classes == list(class_names)
    kept = list(class_names) if same else [n for n in class_names if n in src_classes]
    record = InitSource(str(path), _sha256(path), src_name, src_args, src_classes,
                        "loaded" if same else "reinitialized", kept)
    return src, record, head


def head_keys(model_name: str, model_args: dict, own: dict[str, torch.Tensor], num_classes: int) -> set[str]:
    """The classifier head's tensors: those whose first dimension is the class count (found by building
    the same model for one class more on the meta device, which allocates nothing)."""
    from segstudio.engine.models import create_model

    with torch.device("meta"):
        probe = create_model(model_name, num_classes + 1, pretrained=False, **dict(model_args)).state_dict()
    return {k for k, v in own.items()
            if k in probe and v.ndim >= 1 and v.shape[0] == num_classes and probe[k].shape[0] == num_classes + 1
            and probe[k].shape[1:] == v.shape[1:]}


def _first_conv(state: dict[str, torch.Tensor]) -> str | None:
    return next((k for k, v in state.items() if v.ndim == 4), None)


def _check_channels(path: Path, own: dict[str, torch.Tensor], src: dict[str, torch.Tensor]) -> None:
    key = _first_conv(own)
    if key is None or key not in src or src[key].ndim != 4:
        return
    theirs, ours = int(src[key].shape[1]), int(own[key].shape[1])
    if theirs != ours:
        raise SegstudioError(f"cannot start from {path}: its model takes {theirs} input channels and this project's "
                             f"images have {ours}")


def _check_architecture(path: Path, own: dict[str, torch.Tensor], src: dict[str, torch.Tensor], head: set[str],
                        model_name: str, model_args: dict, src_args: dict, src_classes: int) -> None:
    def refuse(detail: str) -> None:
        raise SegstudioError(f"cannot start from {path}: its {model_name} {_args(src_args)} differs from this run's "
                             f"{model_name} {_args(model_args)} ({detail})")

    for k, v in own.items():
        if k not in src:
            refuse(f"it has no {k}")
        theirs = tuple(src[k].shape)
        if k in head:
            if theirs[:1] != (src_classes,) or theirs[1:] != tuple(v.shape[1:]):
                refuse(f"{k} is {list(theirs)}, expected {[src_classes, *v.shape[1:]]}")
        elif theirs != tuple(v.shape):
            refuse(f"{k} is {list(theirs)}, expected {list(v.shape)}")
    extra = [k for k in src if k not in own]
    if extra:
        refuse(f"it has {len(extra)} tensors this model lacks, e.g. {extra[0]}")


def _args(args: dict) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in sorted(args.items())) + "}" if args else "(default arguments)"


def _sha256(path: Path) -> str:
    from segstudio.engine.weights import file_sha256

    try:
        return file_sha256(path)
    except OSError as exc:
        raise SegstudioError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------- the trainer's entry points
def start_weights(model: nn.Module, config: Any, class_names: list[str],
                  resume_ckpt: dict | None = None, model_args: dict | None = None) -> dict | None:
    """The trainer's hook after building its model: apply ``config.init`` (returns the ``init_source``
    record), or carry a resumed run's record over; None for a run from scratch or pretrained weights.
    ``model_args``: the arguments the model was really built with (default ``config.model_args``; the
    trainer adds ``in_channels``)."""
    if getattr(config, "init", None) is not None:
        args = dict(config.model_args if model_args is None else model_args)
        return init_from_checkpoint(model, config.init, config.model, args, class_names).to_json()
    if resume_ckpt is not None:
        return resume_ckpt.get("init_source")
    return None


def start_note(init_source: dict | None, config: Any, class_names: list[str]) -> str | None:
    """The warning a run started with ``--init`` logs when its classifier head was re-initialised."""
    if not init_source or getattr(config, "init", None) is None or init_source.get("head") == "loaded":
        return None
    return InitSource.from_json(init_source).note(class_names)
