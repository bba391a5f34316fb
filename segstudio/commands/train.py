"""``segstudio train PROJECT ...``: train a model headless (also under torchrun)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from segstudio.core.errors import SegstudioError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", metavar="PROJECT", help="project folder with labeled images")
    p.add_argument("--model", help="model name (default unet; see --list-models)")
    p.add_argument("--width", type=int, help="base channel width of unet/segnet")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--crop", type=int, help="training crop size in pixels")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--precision", default=None, help="auto | fp32 | bf16 | fp16 (default auto)")
    p.add_argument("--seed", type=int)
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--resume", metavar="CKPT", help="continue a run from its last.pt")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (default PROJECT/runs/<run-id>)")
    p.add_argument("--loss", help="ce | dice | ce+dice")
    p.add_argument("--optimizer", help="sgd | adam | adamw")
    p.add_argument("--scheduler", help="poly | cosine | none")
    p.add_argument("--class-weights", help="comma-separated loss weight per class, e.g. 0.5,1,1")
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--mask-map", metavar="MAP", help="value-to-class map for foreign masks, e.g. 0:0,255:1")
    p.add_argument("--compile", action="store_true", help="use torch.compile")
    p.add_argument("--no-pretrained", action="store_true", help="ignore cached pretrained backbone weights")
    p.add_argument("--no-channels-last", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--list-models", action="store_true", help="print the model names and exit")


def _limit_threads() -> None:
    if "OMP_NUM_THREADS" not in os.environ:
        import torch

        torch.set_num_threads(min(2, torch.get_num_threads()))


def build_config(args: argparse.Namespace):
    """A TrainConfig from the explicitly given flags (the rest keep their defaults)."""
    from segstudio.commands._common import mask_map_option
    from segstudio.engine.config import TrainConfig

    kw: dict = {}
    for name in ("model", "epochs", "batch_size", "lr", "crop", "device", "precision", "seed", "val_fraction",
                 "loss", "optimizer", "scheduler", "steps_per_epoch"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = value
    if args.width is not None:
        kw["model_args"] = {"width": args.width}
    if args.resume:
        kw["resume"] = Path(args.resume)
        from segstudio.engine.train_state import RESUMED_FIELDS

        ignored = [f"--{k.replace('_', '-')}" for k in RESUMED_FIELDS if getattr(args, k, None) is not None]
        if ignored:
            print(f"warning: --resume continues with the run's own settings; ignoring {', '.join(ignored)}",
                  file=sys.stderr)
        if args.epochs is None:  # continue to the run's own end, not to the default epoch count
            from segstudio.engine.checkpoint import load_checkpoint

            saved = load_checkpoint(args.resume).get("config") or {}
            if "epochs" in saved:
                kw["epochs"] = int(saved["epochs"])
    if args.out:
        kw["out"] = Path(args.out)
    if args.class_weights:
        try:
            kw["class_weights"] = [float(v) for v in args.class_weights.split(",")]
        except ValueError:
            raise SegstudioError(f"invalid --class-weights {args.class_weights!r}: expected numbers like 0.5,1,1") from None
    value_map = mask_map_option(args.mask_map)
    if value_map is not None:
        kw["value_map"] = value_map
    kw["compile"] = bool(args.compile)
    kw["pretrained"] = not args.no_pretrained
    kw["channels_last"] = not args.no_channels_last
    return TrainConfig(**kw)


def run(args: argparse.Namespace) -> int:
    from segstudio.core.project import Project
    from segstudio.engine.models import available_models

    if args.list_models:
        print("\n".join(available_models()))
        return 0
    config = build_config(args)
    if config.resume is None:
        config.validate()
    project = Project.open(Path(args.project).resolve())
    if not project.labeled_images():
        raise SegstudioError(f"no labeled images in {project.root}")
    _limit_threads()
    from segstudio.engine.progress import ConsoleProgress
    from segstudio.engine.trainer import Trainer

    main_process = os.environ.get("RANK", "0") in ("", "0")  # under torchrun only rank 0 reports
    trainer = Trainer(project, config, [ConsoleProgress()] if main_process else [])
    previous = None
    try:  # first Ctrl-C: cancel cleanly (last.pt written); a second one interrupts
        previous = signal.signal(signal.SIGINT, lambda *_: (trainer.cancel(), signal.signal(signal.SIGINT, signal.default_int_handler)))
    except ValueError:  # not the main thread
        pass
    try:
        end = trainer.run()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if end.status == "failed":
        if end.user_error:
            raise SegstudioError(end.message)
        return 1
    if end.status == "cancelled":
        return 130
    return 0
