"""``segstudio train PROJECT ...``: train a model headless (also under torchrun)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from segstudio.core.errors import SegstudioError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from segstudio.engine.config import add_train_arguments

    p.add_argument("project", metavar="PROJECT", help="project folder with labeled images")
    add_train_arguments(p)  # one option per TrainConfig field (the schema the GUI form and torchrun use too)
    p.add_argument("--width", type=int, help="base channel width of unet/segnet (same as --model-args '{\"width\": N}')")
    p.add_argument("--list-models", action="store_true", help="print the model names and exit")


def _limit_threads() -> None:
    """torch's CPU threads by the one rule of :mod:`segstudio.engine.threads` (also the GUI worker's)."""
    from segstudio.engine.threads import apply_torch_threads

    apply_torch_threads()


def build_config(args: argparse.Namespace):
    """A TrainConfig from the explicitly given flags (the rest keep their defaults)."""
    from segstudio.engine.config import config_from_args, given_options

    config = config_from_args(args)
    if args.width is not None:
        config.model_args = {**config.model_args, "width": args.width}
    if config.init is not None and args.width is None and not {"model", "model_args"} & set(given_options(args)):
        from segstudio.engine.init_from import init_architecture

        config.model, config.model_args = init_architecture(config.init)  # --init without --model: its model
    if config.resume is not None:
        from segstudio.engine.train_state import RESUMED_FIELDS

        ignored = [f"--{k.replace('_', '-')}" for k in given_options(args) if k in RESUMED_FIELDS]
        if ignored:
            print(f"warning: --resume continues with the run's own settings; ignoring {', '.join(ignored)}",
                  file=sys.stderr)
        if args.epochs is None:  # continue to the run's own end, not to the default epoch count
            from segstudio.engine.checkpoint import load_checkpoint

            saved = load_checkpoint(config.resume).get("config") or {}
            if isinstance(saved.get("epochs"), int):
                config.epochs = int(saved["epochs"])
    return config


def _pretrained_hint(config) -> None:
    """Say so when the model could start from pretrained weights that are not in the weights folder."""
    from segstudio.engine.models import backbone_weights_name

    if not config.pretrained or config.resume is not None or config.init is not None or \
            backbone_weights_name(config.model) is None:  # unet, segnet: nothing to look up (no torchvision import)
        return
    from segstudio.engine.weights import entry_for_model, weights_dir, weights_path

    entry = entry_for_model(config.model)
    if entry is not None and not weights_path(entry).is_file():
        print(f"note: no pretrained weights for {config.model} in {weights_dir()}; training from scratch "
              f"(segstudio weights download {config.model}, or weights import FILE offline)", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from segstudio.core.project import Project
    from segstudio.engine.models import available_models

    if args.list_models:
        print("\n".join(available_models()))
        return 0
    config = build_config(args)
    if config.resume is None:
        config.validate()
        if config.out is not None:  # refuse an existing run folder before any data is read
            from segstudio.engine.run_files import check_run_dir

            check_run_dir(config.out, resume=False)
    project = Project.open(Path(args.project).resolve())
    if not project.labeled_images():
        raise SegstudioError(f"no labeled images in {project.root}")
    _limit_threads()
    from segstudio.engine.progress import ConsoleProgress
    from segstudio.engine.trainer import Trainer

    from segstudio.engine.distributed import is_main_process

    main_process = is_main_process()  # under torchrun only rank 0 reports
    if main_process:
        _pretrained_hint(config)
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
