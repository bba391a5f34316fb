"""Small helpers shared by the CLI subcommands: option parsing and running a format job with progress."""

from __future__ import annotations

import sys
from typing import Any, Callable

from segstudio.core.errors import SegstudioError

#: exit status when nothing could be imported/exported (as for other user errors)
EXIT_NOTHING = 2


def mask_map_option(text: str | None) -> dict[int, int] | None:
    """The ``--mask-map`` value ('0:0,255:1') as a value map; None when the option was not given.

    Raises SegstudioError naming the option when the text is malformed.
    """
    if not text:
        return None
    from segstudio.core.mask_io import parse_value_map

    try:
        return parse_value_map(text)
    except ValueError as exc:
        raise SegstudioError(f"--mask-map: {exc}") from None


def parse_class_list(text: str | None) -> list[str] | None:
    """'a,b,c' -> ['a', 'b', 'c'] (None stays None)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SegstudioError(f"--classes {text!r}: give class names separated by commas")
    return names


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


def print_warnings(warnings: list[str]) -> None:
    for message in warnings:
        print(f"segstudio: warning: {message}", file=sys.stderr)


def run_format_job(verb: str, job: Callable[[ProgressPrinter], Any], succeeded: Callable[[Any], bool],
                   nothing_message: str) -> int:
    """Run an import/export ``job(progress)`` with a progress printer, print its warnings and summary;
    exit status 0, or EXIT_NOTHING with ``nothing_message`` when ``succeeded(report)`` is false."""
    progress = ProgressPrinter(verb)
    try:
        report = job(progress)
    finally:
        progress.close()
    print_warnings(report.warnings)
    print(report.summary())
    if not succeeded(report):
        print(f"segstudio: error: {nothing_message}", file=sys.stderr)
        return EXIT_NOTHING
    return 0
