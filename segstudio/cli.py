"""Command-line front end (docs/architecture.md, "Command line"). No Qt is imported here.

``segstudio [PROJECT]`` starts the desktop app; ``segstudio SUBCOMMAND ...`` runs headless.
Each subcommand lives in ``segstudio.commands.<module>`` with ``add_arguments(parser)`` and
``run(args) -> int``. User errors (:class:`SegstudioError`) print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from segstudio import __version__
from segstudio.core.errors import SegstudioError

#: subcommand -> (module under segstudio.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train a model on a project's labeled images"),
    "predict": ("predict", "predict masks for images or folders with a checkpoint"),
    "evaluate": ("evaluate", "evaluate a checkpoint on a project; prints one JSON object"),
    "export-model": ("export_model", "export a checkpoint to ONNX or TorchScript"),
    "import": ("import_annotations", "import annotations (labelme, coco, voc, masks) into a project"),
    "export": ("export_annotations", "export a project as labelme, coco, voc or yolo"),
    "weights": ("weights", "list, download or import pretrained backbone weights (nothing is fetched otherwise)"),
}

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line naming the problem (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _load_command(name: str):
    module_name, _ = SUBCOMMANDS[name]
    try:
        return importlib.import_module(f"segstudio.commands.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"segstudio.commands.{module_name}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    """The full parser: GUI options plus one subparser per subcommand."""
    parser = _Parser(
        prog="segstudio",
        description="Annotate images, train a segmentation model, correct its predictions. "
        "Without a subcommand, starts the desktop app (on PROJECT, else the last project, else the demo).",
    )
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module = _load_command(name)
        if module is not None:
            module.add_arguments(sp)
        else:
            sp.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="segstudio", description="Start the segstudio desktop app.")
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    parser.add_argument("project", nargs="?", help="project or image folder to open")
    parser.add_argument("--self-test", action="store_true",
                        help="open the main window offscreen on the demo project, train briefly, predict, print a summary")
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status argparse chose (usage errors: 2, --help/--version: 0)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USER_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segstudio`` command and ``python -m segstudio``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from segstudio.logging_setup import setup_logging

    setup_logging()  # first: a start without a console (stdout/stderr None) must not crash below
    try:
        if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
            args = _parse(build_parser(), argv)
            if isinstance(args, int):
                return args
            if args.command is None:
                return 0
            module = _load_command(args.command)
            if module is None:
                print(f"segstudio {args.command}: not implemented yet", file=sys.stderr)
                return EXIT_USER_ERROR
            return int(module.run(args) or 0)
        args = _parse(build_gui_parser(), argv)
        if isinstance(args, int):
            return args
        if args.self_test:  # the self-test window is offscreen (works without a display, e.g. on a GPU server)
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from segstudio.gui_launcher import launch  # no Qt import until here

        return int(launch(args.project, self_test=args.self_test) or 0)
    except SegstudioError as exc:
        print(f"segstudio: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("segstudio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
