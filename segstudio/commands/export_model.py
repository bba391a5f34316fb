"""``segstudio export-model CHECKPOINT --format onnx|torchscript -o FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from segstudio.core.errors import SegstudioError

_SUFFIX_FORMATS = {".onnx": "onnx", ".ts": "torchscript", ".pt": "torchscript", ".torchscript": "torchscript"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="segstudio checkpoint (best.pt / last.pt of a run)")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default=None,
                        help="output format (default: from the -o suffix: .onnx -> onnx, .pt/.ts -> torchscript)")
    parser.add_argument("-o", "--output", required=True, help="file to write (not the checkpoint itself)")
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip running the exported file and comparing it with PyTorch")


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    fmt = args.format or _SUFFIX_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise SegstudioError(f"cannot tell the format from {out.name!r}; give --format onnx or --format torchscript")
    if out.exists() and out.is_dir():
        raise SegstudioError(f"output {out} is a folder; give a file name")
    from segstudio.core.write_policy import check_targets

    check_targets([out], [args.checkpoint], args.overwrite)  # never over its own input; others with --overwrite
    from segstudio.engine.export import export_checkpoint  # torch is imported only here

    result = export_checkpoint(args.checkpoint, fmt, out, opset=args.opset, verify=not args.no_verify)
    print(result.summary())
    return 0
