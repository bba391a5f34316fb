"""``segstudio weights list | download NAME [--from URL_OR_DIR] | import FILE``: pretrained backbone weights.

Nothing is fetched without ``download``; ``import`` serves machines without internet. The weights
folder is ``$SEGSTUDIO_WEIGHTS_DIR`` or ``<user data>/weights``. No Qt; torch is imported lazily (the
registry reads torchvision's weights API).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TextIO


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True, parser_class=type(p))
    ls = sub.add_parser("list", help="each model's pretrained weights, their size, and whether they are present")
    ls.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    dl = sub.add_parser("download", help="fetch the official torchvision weights into the weights folder")
    dl.add_argument("name", metavar="NAME", help="a model name (e.g. deeplabv3_resnet50), a weights name "
                                                "(ResNet50_Weights.IMAGENET1K_V1) or a file name")
    dl.add_argument("--from", dest="source", metavar="URL_OR_DIR",
                    help="a mirror: a URL to which the file name is appended, or a folder holding the file")
    dl.add_argument("--timeout", type=float, default=30.0, metavar="S", help="network timeout in seconds")
    im = sub.add_parser("import", help="copy a weights file obtained elsewhere into the weights folder "
                                       "(checked against its published checksum)")
    im.add_argument("file", metavar="FILE")


def run(args: argparse.Namespace) -> int:
    if args.weights_command == "list":
        return _list(args.json)
    if args.weights_command == "download":
        return _download(args.name, args.source, args.timeout)
    return _import(args.file)


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:.1f} MB"  # MB as torchvision publishes them (2**20 bytes)


def _list(as_json: bool) -> int:
    from segstudio.engine.weights import WEIGHTS_DIR_ENV, model_weights, weights_dir

    rows = model_weights()
    folder = weights_dir()
    if as_json:
        print(json.dumps({"weights_dir": str(folder), "models": [
            {"model": r.model, "weights": r.entry.to_json() if r.entry else None,
             "path": str(r.path) if r.path else None, "present": r.present} for r in rows]}))
        return 0
    width = max(len(r.model) for r in rows)
    for r in rows:
        if r.entry is None:
            print(f"{r.model:<{width}}  no pretrained weights (trains from scratch)")
        else:
            state = "present" if r.present else "missing"
            print(f"{r.model:<{width}}  {r.entry.name:<42} {_mb(r.entry.size_bytes):>9}  {state:<7}  {r.path}")
    how = f"from {WEIGHTS_DIR_ENV}" if os.environ.get(WEIGHTS_DIR_ENV) else f"set {WEIGHTS_DIR_ENV} to change it"
    print(f"weights folder: {folder} ({how})")
    return 0


class ConsoleBar:
    """Download progress: a bar on a terminal, a plain line every 10% (or 5 s) otherwise."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._last = 0.0
        self._step = -1
        self._open = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last < 0.1 and not (total is not None and done >= total):
                return
            self._last = now
            if total:
                filled = int(30 * done / total)
                text = f"\r[{'#' * filled}{'-' * (30 - filled)}] {_mb(done)} / {_mb(total)}"
            else:
                text = f"\r{_mb(done)}"
            self.stream.write(text)
            self._open = True
        else:
            step = int(10 * done / total) if total else None
            if not ((step is not None and step > self._step) or now - self._last >= 5.0):
                return
            self._step = step if step is not None else self._step
            self._last = now
            pct = f" ({100 * done // total}%)" if total else ""
            self.stream.write(f"{_mb(done)} of {_mb(total)}{pct}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _download(name: str, source: str | None, timeout: float) -> int:
    from segstudio.core.errors import SegstudioError
    from segstudio.engine.weights import find_entry, verified_file
    from segstudio.engine.weights_store import download, source_url

    entry = find_entry(name)
    try:
        present = verified_file(entry)
    except SegstudioError:  # a damaged copy: fetched again and replaced
        present = None
    if present is not None:
        print(f"{entry.name} is already present: {present}")
        return 0
    print(f"downloading {entry.name} ({_mb(entry.size_bytes)}) from {source_url(entry, source)}", file=sys.stderr)
    bar = ConsoleBar()
    try:
        path = download(entry, source, progress=bar, timeout=timeout)
    finally:
        bar.close()
    print(f"saved {path} (checksum {entry.sha256} verified)")
    return 0


def _import(file: str) -> int:
    from segstudio.engine.weights_store import import_file

    entry, path = import_file(file)
    print(f"imported {entry.name} into {path} (checksum {entry.sha256} verified); used by "
          f"{', '.join(entry.models) or 'no model'}")
    return 0
