"""``segstudio evaluate CHECKPOINT PROJECT``: print one JSON object with miou, per-class iou, dice, pixel_acc."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--split", choices=("all", "val", "train"), default="all",
                   help="which labeled images: all (default), or the run's validation / training split")
    p.add_argument("--mask-map", metavar="MAP", help="value-to-class map for foreign masks, e.g. 0:0,255:1")


def evaluate(checkpoint: str, project_path: str, device: str = "auto", split: str = "all",
             value_map: dict[int, int] | None = None) -> dict:
    """Metrics of a checkpoint on a project's labeled images (pixels labeled 255 ignored), computed by the
    engine's one evaluation (:func:`segstudio.engine.evaluation.evaluate_checkpoint`), as validation does."""
    from segstudio.engine.evaluation import evaluate_checkpoint

    return evaluate_checkpoint(checkpoint, project_path, device, split, value_map,
                               warn=lambda m: print(f"warning: {m}", file=sys.stderr))


def run(args: argparse.Namespace) -> int:
    from segstudio.commands._common import mask_map_option
    from segstudio.commands.train import _limit_threads

    value_map = mask_map_option(args.mask_map)
    _limit_threads()
    result = evaluate(args.checkpoint, args.project, args.device, args.split, value_map)
    print(json.dumps(result))
    return 0
