"""``segstudio predict CHECKPOINT INPUT... --out DIR``: write P-mode PNG masks at the original resolution."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from segstudio.core.errors import SegstudioError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a segstudio checkpoint (best.pt / last.pt)")
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for the <stem>.png masks")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--tile-batch", type=int, default=None, metavar="N",
                   help="tiles per forward pass for images larger than a tile (default 4 on a CPU, 8 on a GPU)")


def collect_inputs(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(image path, output relative path .png) for files and folders; folders keep their sub-folders."""
    from segstudio.core.image_io import is_image_file
    from segstudio.core.paths import natural_key

    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted((f for f in path.rglob("*") if f.is_file() and is_image_file(f)
                            and not any(part.startswith(".") for part in f.relative_to(path).parts)),
                           key=lambda f: natural_key(f.relative_to(path).as_posix()))
            found.extend((f, f.relative_to(path).with_suffix(".png")) for f in files)
        elif path.is_file():
            found.append((path, Path(path.stem + ".png")))
        else:
            raise SegstudioError(f"input {path} does not exist")
    if not found:
        raise SegstudioError(f"no images found in {', '.join(inputs)}")
    return found


def run(args: argparse.Namespace) -> int:
    from segstudio.commands.train import _limit_threads
    from segstudio.core.image_io import load_image
    from segstudio.core.mask_io import write_mask

    if args.tile_batch is not None and args.tile_batch < 1:
        raise SegstudioError(f"--tile-batch must be at least 1, got {args.tile_batch}")
    items = collect_inputs(args.inputs)
    _limit_threads()
    from segstudio.engine.predictor import Predictor

    predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device, batch_size=args.tile_batch)
    colors = [c.rgb for c in predictor.classes]
    out = Path(args.out)
    seen: set[Path] = set()
    ok = failed = 0
    tty = sys.stderr.isatty()
    t0 = time.monotonic()
    for n, (src, rel) in enumerate(items, 1):
        if rel in seen:  # two inputs with the same stem: keep both
            rel = rel.with_name(f"{rel.stem}_{n}.png")
        seen.add(rel)
        try:
            image = load_image(src)
        except SegstudioError as exc:
            print(f"warning: skipping {src}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for note in image.notes:
            print(f"warning: {src}: {note}", file=sys.stderr)
        pred = predictor.predict_image(image)  # channels other than the model's: ChannelMismatchError, exit 2
        write_mask(out / rel, pred.mask, colors)
        ok += 1
        msg = f"{n}/{len(items)} {src} -> {out / rel}"
        if tty:
            sys.stderr.write(f"\r[{'#' * (30 * n // len(items)):<30}] {n}/{len(items)} ")
            sys.stderr.flush()
        else:
            print(msg, file=sys.stderr)
    if tty:
        sys.stderr.write("\n")
    print(f"predicted {ok} image(s) into {out} in {time.monotonic() - t0:.1f}s" + (f"; {failed} skipped" if failed else ""),
          file=sys.stderr)
    if ok == 0:
        raise SegstudioError(f"no image could be read from {', '.join(args.inputs)}")
    return 0
