"""``segstudio predict CHECKPOINT INPUT... --out DIR``: write P-mode PNG masks at the original resolution.

The write policy (:mod:`segstudio.core.write_policy`) is checked before the model is loaded: never
into an input folder or a project's masks/, never over an input, over an existing mask only with
``--overwrite``. A project given as INPUT contributes its images (not its masks, runs or
predictions); its predictions belong in PROJECT/predictions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from segstudio.core.errors import SegstudioError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a segstudio checkpoint (best.pt / last.pt)")
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--out", "-o", required=True, metavar="DIR",
                   help="folder for the <stem>.png masks (not an input folder, not a project's masks/)")
    p.add_argument("--overwrite", action="store_true", help="replace masks that already exist in DIR")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--tile-batch", type=int, default=None, metavar="N",
                   help="tiles per forward pass for images larger than a tile (default 4 on a CPU, 8 on a GPU)")
    p.add_argument("--tta", choices=("none", "hflip", "flip"), default=None,
                   help="test-time augmentation: the mean over flipped views (default: the run's own --tta)")


def _folder_images(path: Path) -> list[Path]:
    """Images under a folder (hidden parts skipped, symlinked folders not entered), natural order;
    a project folder gives its own images only."""
    from segstudio.core.image_io import is_image_file
    from segstudio.core.paths import natural_key
    from segstudio.core.project import PROJECT_FILE, Project

    if (path / PROJECT_FILE).is_file():
        return Project.open(path).list_images()
    files = []
    for dirpath, dirnames, filenames in os.walk(path):  # never follows symlinked folders: no loops
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        files += [Path(dirpath) / f for f in filenames if not f.startswith(".") and is_image_file(f)
                  and os.path.isfile(os.path.join(dirpath, f))]
    return sorted(files, key=lambda f: natural_key(f.relative_to(path).as_posix()))


def collect_inputs(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(image path, output relative path .png) for files and folders; folders keep their sub-folders."""
    from segstudio.core.project import PROJECT_FILE, Project

    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            base = Project.open(path).images_dir if (path / PROJECT_FILE).is_file() else path
            found.extend((f, f.relative_to(base).with_suffix(".png")) for f in _folder_images(path))
        elif path.is_file():
            found.append((path, Path(path.stem + ".png")))
        else:
            raise SegstudioError(f"input {path} does not exist")
    if not found:
        raise SegstudioError(f"no images found in {', '.join(inputs)}")
    return found


def plan_outputs(items: list[tuple[Path, Path]], inputs: list[str], out: Path):
    """The (source, target) pairs, two inputs with the same name kept apart, and the write plan."""
    from segstudio.core.project import PROJECT_FILE, Project, RESERVED_DIRS
    from segstudio.core.write_policy import ReadFolder, WritePlan

    pairs: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for n, (src, rel) in enumerate(items, 1):
        k = n
        while rel in seen:  # two inputs with the same stem: keep both
            rel = rel.with_name(f"{rel.stem}_{k}.png")
            k += 1
        seen.add(rel)
        pairs.append((src, out / rel))
    reads = []
    for item in inputs:
        path = Path(item)
        if path.is_dir() and (path / PROJECT_FILE).is_file():
            project = Project.open(path)
            reads.append(ReadFolder(project.images_dir, RESERVED_DIRS if project.images_dir == project.root else ()))
        elif path.is_dir():
            reads.append(ReadFolder(path))
    plan = WritePlan(out, [t for _, t in pairs], [s for s, _ in items], reads)
    return pairs, plan


def run(args: argparse.Namespace) -> int:
    from segstudio.commands.train import _limit_threads
    from segstudio.core.image_io import load_image
    from segstudio.core.mask_io import write_mask

    if args.tile_batch is not None and args.tile_batch < 1:
        raise SegstudioError(f"--tile-batch must be at least 1, got {args.tile_batch}")
    out = Path(args.out)
    items = collect_inputs(args.inputs)
    pairs, plan = plan_outputs(items, args.inputs, out)
    plan.check(args.overwrite)  # before anything is loaded or written
    _limit_threads()
    from segstudio.engine.predictor import Predictor

    predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device, batch_size=args.tile_batch,
                                          tta=args.tta)
    colors = [c.rgb for c in predictor.classes]
    ok = failed = 0
    tty = sys.stderr.isatty()
    t0 = time.monotonic()
    for n, (src, target) in enumerate(pairs, 1):
        try:
            image = load_image(src)
        except SegstudioError as exc:
            print(f"warning: skipping {src}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for note in image.notes:
            print(f"warning: {src}: {note}", file=sys.stderr)
        pred = predictor.predict_image(image)  # channels other than the model's: ChannelMismatchError, exit 2
        write_mask(target, pred.mask, colors)
        ok += 1
        msg = f"{n}/{len(pairs)} {src} -> {target}"
        if tty:
            sys.stderr.write(f"\r[{'#' * (30 * n // len(pairs)):<30}] {n}/{len(pairs)} ")
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
