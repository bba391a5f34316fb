"""``segstudio evaluate CHECKPOINT PROJECT``: print one JSON object with miou, per-class iou, dice, pixel_acc."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segstudio.core.errors import SegstudioError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--split", choices=("all", "val", "train"), default="all",
                   help="which labeled images: all (default), or the run's validation / training split")
    p.add_argument("--mask-map", metavar="MAP", help="value-to-class map for foreign masks, e.g. 0:0,255:1")


def evaluate(checkpoint: str, project_path: str, device: str = "auto", split: str = "all",
             value_map: dict[int, int] | None = None) -> dict:
    """Metrics of a checkpoint on a project's labeled images (pixels labeled 255 ignored)."""
    import torch

    from segstudio.core.project import Project
    from segstudio.engine.data import read_labeled
    from segstudio.engine.metrics import confusion_matrix, metrics_from_confusion
    from segstudio.engine.predictor import Predictor

    project = Project.open(Path(project_path).resolve())
    predictor = Predictor.from_checkpoint(checkpoint, device=device)
    ck_names = [c.name for c in predictor.classes]
    if ck_names != project.class_names:
        raise SegstudioError(f"checkpoint {checkpoint} was trained on classes {ck_names}, which differ from "
                             f"{project.root}'s classes {project.class_names}; refusing to evaluate")
    images = project.labeled_images()
    if split != "all":
        wanted = set((predictor.checkpoint.get("split") or {}).get(split) or [])
        images = [p for p in images if project.image_id(p) in wanted]
    if not images:
        raise SegstudioError(f"no labeled images in {project.root}" + (f" for the {split} split" if split != "all" else ""))
    C = project.num_classes
    cm = torch.zeros((C, C), dtype=torch.int64)
    used = 0
    for path in images:
        got = read_labeled(project, path, value_map, lambda m: print(f"warning: {m}", file=sys.stderr),
                           predictor.channels)  # channels other than the model's: ChannelMismatchError, exit 2
        if got is None:
            continue
        rgb, mask = got
        pred = predictor.predict(rgb)
        cm += confusion_matrix(torch.from_numpy(pred.mask), torch.from_numpy(mask), C)
        used += 1
    if used == 0:
        raise SegstudioError(f"no readable labeled images in {project.root}")
    m = metrics_from_confusion(cm)
    per_class = {name: v for name, v in zip(project.class_names, m.per_class_iou)}
    return {"miou": m.miou, "iou": per_class, "per_class_iou": per_class,
            "dice": m.dice, "per_class_dice": {n: v for n, v in zip(project.class_names, m.per_class_dice)},
            "pixel_acc": m.pixel_acc, "images": used, "checkpoint": str(checkpoint)}


def run(args: argparse.Namespace) -> int:
    from segstudio.commands._common import mask_map_option
    from segstudio.commands.train import _limit_threads

    value_map = mask_map_option(args.mask_map)
    _limit_threads()
    result = evaluate(args.checkpoint, args.project, args.device, args.split, value_map)
    print(json.dumps(result))
    return 0
