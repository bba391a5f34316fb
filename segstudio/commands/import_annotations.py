"""``segstudio import FORMAT SOURCE PROJECT``: bring LabelMe, COCO, Pascal VOC or mask-folder
annotations into a project (created when missing).

Problems with single files are printed as warnings naming the file and the import goes on
(exit 0); when nothing could be imported or the input is invalid the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys

from segstudio.core.errors import SegstudioError
from segstudio.core.formats import IMPORT_FORMATS, ImportOptions, import_annotations
from segstudio.core.mask_io import parse_value_map

EXIT_NOTHING = 2


class ProgressPrinter:
    """A bar on a terminal, plain 'N/TOTAL name' lines otherwise."""

    def __init__(self, verb: str, stream=None) -> None:
        self.verb = verb
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._open = False

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.tty:
            width = 30
            filled = int(width * done / max(total, 1))
            self.stream.write(f"\r{self.verb} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what[:40]:<40}")
            self._open = done < total
            if not self._open:
                self.stream.write("\n")
        else:
            self.stream.write(f"{self.verb} {done}/{total} {what}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False


def parse_class_list(text: str | None) -> list[str] | None:
    """'a,b,c' -> ['a', 'b', 'c'] (None stays None)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SegstudioError(f"--classes {text!r}: give class names separated by commas")
    return names


def print_warnings(warnings: list[str]) -> None:
    for message in warnings:
        print(f"segstudio: warning: {message}", file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", metavar="FORMAT", choices=IMPORT_FORMATS,
                        help="one of: " + ", ".join(IMPORT_FORMATS))
    parser.add_argument("source", metavar="SOURCE",
                        help="LabelMe folder or .json, COCO folder or annotation file, VOC folder, "
                             "or a folder with images/ and masks/")
    parser.add_argument("project", metavar="PROJECT", help="project folder (created when missing)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace images and masks already in the project (default: skip them with a warning)")
    parser.add_argument("--mask-map", metavar="MAP",
                        help="masks/voc: raw mask value to class id, e.g. 0:0,255:1 (unlisted values become unlabeled)")
    parser.add_argument("--classes", metavar="NAMES",
                        help="comma-separated class names, class 0 first; labels not listed are reported and "
                             "left unlabeled")


def run(args: argparse.Namespace) -> int:
    value_map = None
    if args.mask_map:
        try:
            value_map = parse_value_map(args.mask_map)
        except ValueError as exc:
            raise SegstudioError(f"--mask-map: {exc}") from None
    options = ImportOptions(overwrite=args.overwrite, value_map=value_map, classes=parse_class_list(args.classes))
    progress = ProgressPrinter("import")
    try:
        report = import_annotations(args.format, args.source, args.project, options, progress=progress)
    finally:
        progress.close()
    print_warnings(report.warnings)
    print(report.summary())
    if report.imported == 0 and report.images_copied == 0:
        print(f"segstudio: error: nothing could be imported from {args.source}", file=sys.stderr)
        return EXIT_NOTHING
    return 0
