"""Training options: ONE schema (:class:`TrainConfig`) for the CLI parser, the GUI form and the torchrun launcher.

Every field carries its command-line spelling, help text, choices and bounds in its dataclass
metadata (:class:`Option`). From that single description this module builds the ``segstudio train``
options (:func:`add_train_arguments`), reads them back (:func:`config_from_args`), turns a config
into the argv of an equivalent command (:func:`config_to_argv`, used by the torchrun launcher) and
validates values with one clear message each (:meth:`TrainConfig.validate`). Importing it loads no
torch (the GUI form reads its defaults and bounds from here at startup).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from segstudio.core.errors import SegstudioError

LOSSES = ("ce", "dice", "ce+dice")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("poly", "cosine", "none")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: test-time augmentation (engine/tta.py): the mean over flipped views; "flip" = 4 views, "hflip" = 2
TTA_MODES = ("none", "hflip", "flip")
#: Largest training crop (pixels per side): a 4096x4096 crop already needs GBs of activations.
MAX_CROP = 4096
MAX_BATCH = 4096
MAX_EPOCHS = 1_000_000
#: Epoch count the GUI uses for live training ("until stopped").
LIVE_EPOCHS = 100_000


@dataclass(frozen=True)
class Option:
    """How one TrainConfig field appears on the command line and in forms.

    ``kind``: "str" | "int" | "float" | "bool" | "path" | "floats" (comma list) | "pair" (two floats) |
    "json" (a JSON object) | "value_map" ('0:0,255:1'). ``cli`` None: not a command-line option.
    """

    cli: str | None
    help: str = ""
    kind: str = "str"
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    metavar: str | None = None


def option(default: Any = None, *, factory: Callable[[], Any] | None = None, **meta: Any) -> Any:
    """A dataclass field with its :class:`Option` metadata."""
    md = {"option": Option(**meta)}
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


@dataclass
class TrainConfig:
    """Everything a training run needs besides the project. Defaults train the demo project well on a CPU."""

    model: str = option("unet", cli="--model", help="model name (see --list-models)")
    model_args: dict = option(factory=dict, cli="--model-args", kind="json", metavar="JSON",
                              help='model arguments as a JSON object, e.g. \'{"width": 16, "depth": 4}\'')
    epochs: int = option(20, cli="--epochs", kind="int", minimum=1, maximum=MAX_EPOCHS, help="number of epochs")
    batch_size: int = option(4, cli="--batch-size", kind="int", minimum=1, maximum=MAX_BATCH,
                             help="images per step (halved automatically when the GPU runs out of memory)")
    lr: float = option(3e-3, cli="--lr", kind="float", minimum=1e-9, maximum=10.0,
                       help="peak learning rate (after the warm-up; poly decay to 1% of it)")
    crop: int = option(128, cli="--crop", kind="int", minimum=8, maximum=MAX_CROP,
                       help="training crop size in pixels (images smaller than a crop are padded)")
    loss: str = option("ce", cli="--loss", choices=LOSSES,
                       help="loss function; ce+dice can help small and thin classes")
    class_weights: list[float] | None = option(None, cli="--class-weights", kind="floats", metavar="W,W,...",
                                               minimum=0.0, help="loss weight per class, e.g. 0.5,1,1")
    optimizer: str = option("adamw", cli="--optimizer", choices=OPTIMIZERS, help="optimizer")
    scheduler: str = option("poly", cli="--scheduler", choices=SCHEDULERS, help="learning-rate schedule")
    warmup_epochs: float = option(1.0, cli="--warmup-epochs", kind="float", minimum=0.0, maximum=1000.0,
                                  help="linear learning-rate warm-up, in epochs")
    weight_decay: float = option(1e-4, cli="--weight-decay", kind="float", minimum=0.0, maximum=1.0,
                                 help="weight decay")
    momentum: float = option(0.9, cli="--momentum", kind="float", minimum=0.0, maximum=1.0,
                             help="SGD momentum")
    device: str = option("auto", cli="--device", help="auto | cpu | cuda | cuda:N")
    precision: str = option("auto", cli="--precision", choices=PRECISIONS,
                            help="auto: bf16 (or fp16) on GPUs, fp32 on the CPU")
    seed: int = option(0, cli="--seed", kind="int", minimum=0, maximum=2**63 - 1, help="random seed")
    val_fraction: float = option(0.2, cli="--val-fraction", kind="float", minimum=0.0, maximum=0.95,
                                 help="share of the labeled images held out for validation")
    channels_last: bool = option(True, cli="--channels-last", kind="bool", help="channels-last memory layout")
    compile: bool = option(False, cli="--compile", kind="bool", help="use torch.compile")
    resume: Path | None = option(None, cli="--resume", kind="path", metavar="CKPT",
                                 help="continue a run exactly from its last.pt (same settings)")
    init: Path | None = option(None, cli="--init", kind="path", metavar="CKPT",
                               help="start from a checkpoint's weights (any project; a new head when the "
                                    "classes differ); optimizer, schedule and epochs start fresh")
    out: Path | None = option(None, cli="--out", kind="path", metavar="RUN_DIR",
                              help="run folder (default PROJECT/runs/<run-id>); must not exist yet")
    val_every: int = option(4, cli="--val-every", kind="int", minimum=1, maximum=MAX_EPOCHS, metavar="N",
                            help="validate every N epochs; the last epoch always validates")
    tta: str = option("flip", cli="--tta", choices=TTA_MODES,
                      help="test-time augmentation of validation, evaluate and predict: the mean over "
                           "flipped views; flip: 4 views, hflip: 2")
    patience: int = option(3, cli="--patience", kind="int", minimum=0, maximum=MAX_EPOCHS, metavar="N",
                           help="stop early when the validation mIoU has not improved for N validations; "
                                "0: never (the GUI's live training never stops early)")
    steps_per_epoch: int | None = option(None, cli="--steps-per-epoch", kind="int", minimum=1, maximum=10_000_000,
                                         help="optimisation steps per epoch (default: about one pass over "
                                              "the training images)")
    preview_every_epoch: bool = option(True, cli=None, kind="bool")
    preview_every_s: float = option(0.0, cli=None, kind="float", minimum=0.0, maximum=3600.0,
                                    help="live previews: predict the preview image at most every this many "
                                         "seconds of training, between steps (0: once per epoch)")
    watch_project: bool = option(False, cli="--watch-project", kind="bool",
                                 help="live training: masks saved while training join the training data")
    value_map: dict[int, int] | None = option(None, cli="--mask-map", kind="value_map", metavar="MAP",
                                              help="value-to-class map for masks not written by segstudio, "
                                                   "e.g. 0:0,255:1")
    scale_range: tuple[float, float] = option((0.75, 1.33), cli="--scale-range", kind="pair", metavar="LO,HI",
                                              minimum=0.05, maximum=20.0, help="random scale augmentation range")
    flips: bool = option(True, cli="--flips", kind="bool", help="random horizontal and vertical flips")
    color_jitter: float = option(0.15, cli="--color-jitter", kind="float", minimum=0.0, maximum=1.0,
                                 help="strength of the random intensity jitter")
    pretrained: bool = option(True, cli="--pretrained", kind="bool",
                              help="use downloaded or imported pretrained backbone weights when present")

    def validate(self) -> "TrainConfig":
        """Raise SegstudioError naming the first invalid value (and its option); returns self."""
        from segstudio.engine.models import available_models

        for f in dataclasses.fields(self):
            opt: Option | None = f.metadata.get("option")
            if opt is not None:
                _check_value(f.name, opt, getattr(self, f.name))
        if self.model not in available_models():
            raise SegstudioError(f"unknown model {self.model!r}; valid models: {', '.join(available_models())}")
        if self.model_args:  # e.g. {"width": 100000} would allocate hundreds of GB
            from segstudio.engine.model_limits import check_model_size

            check_model_size(self.model, 2, self.model_args, "--model-args")
        if self.resume is not None and self.init is not None:
            raise SegstudioError("--resume and --init exclude each other: resume continues a run, "
                                 "init starts a new one from its weights")
        return self

    def to_json(self) -> dict:
        """A JSON-safe dict (paths as strings, value_map keys as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = list(v)
            elif f.name == "value_map" and v is not None:
                v = {str(k): int(val) for k, val in v.items()}
            out[f.name] = v
        return out

    @classmethod
    def from_json(cls, d: dict) -> "TrainConfig":
        """Inverse of :meth:`to_json`; unknown keys are ignored, values of the wrong type raise SegstudioError."""
        if not isinstance(d, dict):
            raise SegstudioError(f"a training configuration must be a JSON object, not {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in dict(d).items() if k in names}
        try:
            for key in ("resume", "out", "init"):
                if kw.get(key) is not None:
                    kw[key] = Path(kw[key])
            if kw.get("value_map") is not None:
                kw["value_map"] = {int(k): int(v) for k, v in dict(kw["value_map"]).items()}
            if kw.get("scale_range") is not None:
                kw["scale_range"] = tuple(float(x) for x in kw["scale_range"])
            if kw.get("class_weights") is not None:
                kw["class_weights"] = [float(x) for x in kw["class_weights"]]
            if kw.get("model_args") is None:
                kw["model_args"] = {}
            elif not isinstance(kw["model_args"], dict):
                raise TypeError(f"model_args must be an object, not {type(kw['model_args']).__name__}")
        except (TypeError, ValueError) as exc:
            raise SegstudioError(f"invalid training configuration: {exc}") from None
        return cls(**kw)


def options() -> list[tuple[dataclasses.Field, Option]]:
    """Every TrainConfig field with its Option, in declaration order."""
    return [(f, f.metadata["option"]) for f in dataclasses.fields(TrainConfig) if "option" in f.metadata]


def option_of(name: str) -> Option:
    """The Option of field ``name`` (KeyError for an unknown field)."""
    for f, opt in options():
        if f.name == name:
            return opt
    raise KeyError(name)


def _label(name: str, opt: Option) -> str:
    return opt.cli or name


def _check_value(name: str, opt: Option, value: Any) -> None:
    if value is None:
        return
    label = _label(name, opt)
    kind = opt.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SegstudioError(f"{label} must be a whole number (got {value!r})")
        _check_range(label, opt, value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise SegstudioError(f"{label} must be a number (got {value!r})")
        _check_range(label, opt, float(value))
    elif kind == "bool":
        if not isinstance(value, bool):
            raise SegstudioError(f"{label} must be true or false (got {value!r})")
    elif kind == "str":
        if not isinstance(value, str):
            raise SegstudioError(f"{label} must be text (got {value!r})")
        if opt.choices is not None and value not in opt.choices:
            raise SegstudioError(f"unknown {label.lstrip('-')} {value!r}; valid: {', '.join(opt.choices)}")
    elif kind == "floats":
        if not isinstance(value, list) or not value:
            raise SegstudioError(f"{label} must be a list of numbers (got {value!r})")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise SegstudioError(f"{label}: {v!r} is not a number")
            _check_range(label, opt, float(v))
    elif kind == "pair":
        if not isinstance(value, tuple) or len(value) != 2:
            raise SegstudioError(f"{label} must be two numbers LO,HI (got {value!r})")
        lo, hi = value
        for v in value:
            _check_range(label, opt, float(v))
        if lo > hi:
            raise SegstudioError(f"{label}: the low end {lo} is above the high end {hi}")
    elif kind == "json":
        if not isinstance(value, dict):
            raise SegstudioError(f"{label} must be a JSON object (got {value!r})")
    elif kind == "value_map":
        if not isinstance(value, dict) or not all(isinstance(k, int) and isinstance(v, int) and 0 <= v <= 255
                                                  for k, v in value.items()):
            raise SegstudioError(f"{label} must map values to class ids 0-255 (got {value!r})")


def _check_range(label: str, opt: Option, value: float) -> None:
    if opt.minimum is not None and value < opt.minimum:
        raise SegstudioError(f"{label} must be at least {_num(opt.minimum)} (got {_num(value)})")
    if opt.maximum is not None and value > opt.maximum:
        raise SegstudioError(f"{label} must be at most {_num(opt.maximum)} (got {_num(value)})")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


# ---------------------------------------------------------------------------------- command line
def _parse_floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _parse_pair(text: str) -> tuple[float, float]:
    values = _parse_floats(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected two numbers LO,HI, got {text!r}")
    return (values[0], values[1])


def _parse_json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object like '{{\"width\": 16}}', got {text!r}")
    return value


def _parse_value_map(text: str) -> dict[int, int]:
    from segstudio.core.mask_io import parse_value_map

    try:
        return parse_value_map(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_ARG_TYPES: dict[str, Callable[[str], Any]] = {
    "str": str, "int": int, "float": float, "path": Path, "floats": _parse_floats, "pair": _parse_pair,
    "json": _parse_json_object, "value_map": _parse_value_map,
}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one option per TrainConfig field; every default is None, so :func:`config_from_args` knows
    what was given (the help shows the schema's default). Booleans get ``--x`` / ``--no-x``."""
    defaults = TrainConfig()
    for f, opt in options():
        if opt.cli is None:
            continue
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": _help_with_default(opt, getattr(defaults, f.name))}
        if opt.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _ARG_TYPES[opt.kind]
            if opt.choices is not None:
                kw["choices"] = list(opt.choices)
            if opt.metavar:
                kw["metavar"] = opt.metavar
        parser.add_argument(opt.cli, **kw)


def _help_with_default(opt: Option, default: Any) -> str | None:
    """The option's help plus "(default: X)" when the default is a value (not None / empty)."""
    if default is None or default == {} or not opt.help:
        return opt.help or None
    shown = ("on" if default else "off") if opt.kind == "bool" else _format_value(opt.kind, default)
    return f"{opt.help} (default: {shown})".replace("%", "%%")


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: the defaults) with every option given on the command line applied."""
    cfg = base or TrainConfig()
    changes = {f.name: getattr(args, f.name) for f, opt in options()
               if opt.cli is not None and getattr(args, f.name, None) is not None}
    return dataclasses.replace(cfg, **changes)


def given_options(args: argparse.Namespace) -> list[str]:
    """The field names given explicitly on the command line."""
    return [f.name for f, opt in options() if opt.cli is not None and getattr(args, f.name, None) is not None]


def _format_value(kind: str, value: Any) -> str:
    if kind == "floats":
        return ",".join(repr(float(v)) for v in value)
    if kind == "pair":
        return f"{float(value[0])!r},{float(value[1])!r}"
    if kind == "json":
        return json.dumps(value, sort_keys=True)
    if kind == "value_map":
        return ",".join(f"{int(k)}:{int(v)}" for k, v in value.items())
    if kind == "float":
        return repr(float(value))
    return str(value)


def config_to_argv(cfg: TrainConfig, skip: tuple[str, ...] = (), only_changed: bool = True) -> list[str]:
    """Command-line options that reproduce ``cfg`` (fields equal to the default are left out unless
    ``only_changed`` is False; fields in ``skip`` never appear). Fields without a CLI option are refused
    when they differ from the default, so nothing is silently dropped."""
    defaults = TrainConfig()
    argv: list[str] = []
    for f, opt in options():
        if f.name in skip:
            continue
        value = getattr(cfg, f.name)
        if only_changed and value == getattr(defaults, f.name):
            continue
        if opt.cli is None:
            if value != getattr(defaults, f.name):
                raise SegstudioError(f"training option {f.name}={value!r} has no command-line form")
            continue
        if value is None:
            continue
        if opt.kind == "bool":
            argv.append(opt.cli if value else "--no-" + opt.cli[2:])
        else:
            argv += [opt.cli, _format_value(opt.kind, value)]
    return argv
