"""Tiled inference on a huge image versus a raw batched forward over the same tiles.

``python benchmarks/inference_tiled.py [--device cpu|cuda] [--size N] ...``

Both runs use the same model, precision and tiles. The baseline (``raw_tiles_s``) is the model
alone: the tiles are cut and stacked into batches before the clock starts, and only the forward
passes are timed. ``engine_tiles_s`` is :func:`segstudio.engine.tiling.predict_tiled` end to end:
cutting tiles, forward, softmax, window blending into the (C, H, W) probability map and the final
normalisation. ``ratio = raw_tiles_s / engine_tiles_s`` (1.0 = no overhead; target >= 0.9 on CUDA).
``peak_mem_mb``: CUDA max allocated during the engine run on cuda; the process's peak RSS on CPU.
``mask_tiles_s`` / ``mask_ratio``: the same for :func:`segstudio.engine.tiling.predict_tiled_mask`, the
streamed path ``Predictor.predict`` takes for large images (mask, confidence and entropy from row
bands, never the (C, H, W) map), which also includes the per-pixel argmax / max / entropy and the
copies to the host that ``engine_tiles_s`` leaves out; ``mask_peak_mem_mb``: its CUDA max allocated (null on CPU).

Defaults: 8192x8192, 512 px tiles, U-Net (width 16, depth 4), bf16 on CUDA; a 1024x1024 image,
256 px tiles and a narrow U-Net on the CPU so the run stays short. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from segstudio.engine.models import create_model  # noqa: E402
from segstudio.engine.tiling import predict_tiled, predict_tiled_mask, tile_grid  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, default=None, help="image side in pixels (default 8192 cuda, 1024 cpu)")
    p.add_argument("--tile", type=int, default=None, help="tile side (default 512 cuda, 256 cpu)")
    p.add_argument("--overlap", type=float, default=0.25)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--model", default="unet")
    p.add_argument("--width", type=int, default=None, help="U-Net/SegNet width (default 16 cuda, 8 cpu)")
    p.add_argument("--depth", type=int, default=None, help="U-Net/SegNet depth (default 4 cuda, 3 cpu)")
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                   help="auto: bf16 on cuda, fp32 on cpu")
    p.add_argument("--repeat", type=int, default=None, help="timed repetitions of each, best kept (default 3 cuda, 2 cpu)")
    args = p.parse_args(argv)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        p.error("--device cuda but no CUDA GPU is available")
    args.size = args.size or (8192 if cuda else 1024)
    args.tile = args.tile or (512 if cuda else 256)
    args.width = args.width or (16 if cuda else 8)
    args.depth = args.depth or (4 if cuda else 3)
    args.repeat = args.repeat or (3 if cuda else 2)
    if args.precision == "auto":
        args.precision = "bf16" if cuda else "fp32"
    return args


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model_args = {"width": args.width, "depth": args.depth} if args.model in ("unet", "segnet") else {}
    model = create_model(args.model, args.classes, pretrained=False, **model_args).to(device).eval()
    channels_last = device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        ctx = torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext()
        with ctx:
            return model(batch)

    size = args.size
    # a random RGB image, normalised as the predictor does, resident on the device
    image = torch.randint(0, 256, (3, size, size), dtype=torch.uint8, device=device)
    image = ((image.float() / 255.0) - 0.45) / 0.225
    grid = tile_grid(size, size, args.tile, args.overlap)
    th, tw = grid.rows.tile, grid.cols.tile
    positions = grid.positions
    padded = image
    if grid.rows.padded != size or grid.cols.padded != size:  # image smaller than a tile
        padded = torch.nn.functional.pad(image[None], (0, grid.cols.padded - size, 0, grid.rows.padded - size),
                                         mode="replicate")[0]
    batches = [torch.stack([padded[:, y:y + th, x:x + tw] for y, x in positions[i:i + args.batch_size]])
               for i in range(0, len(positions), args.batch_size)]

    def raw_run() -> float:
        _sync(device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            for b in batches:
                out = forward(b)
        del out
        _sync(device)
        return time.perf_counter() - t0

    def engine_run() -> float:
        _sync(device)
        t0 = time.perf_counter()
        probs = predict_tiled(forward, image, args.classes, tile=args.tile, overlap=args.overlap,
                              batch_size=args.batch_size)
        _sync(device)
        elapsed = time.perf_counter() - t0
        assert probs.shape == (args.classes, size, size)
        del probs
        return elapsed

    def mask_run() -> float:
        _sync(device)
        t0 = time.perf_counter()
        mask, _conf, _entropy = predict_tiled_mask(forward, image, args.classes, tile=args.tile, overlap=args.overlap,
                                                   batch_size=args.batch_size)
        elapsed = time.perf_counter() - t0  # the mask is already on the host: nothing left to wait for
        assert mask.shape == (size, size)
        return elapsed

    # warm-up: cuDNN autotuning for the full and the last (partial) batch shapes
    with torch.inference_mode():
        forward(batches[0])
        forward(batches[-1])
    _sync(device)

    # interleaved, best of each, so that machine noise hits both alike
    raw_times, engine_times, mask_times = [], [], []
    for _ in range(args.repeat):
        raw_times.append(raw_run())
        engine_times.append(engine_run())
        mask_times.append(mask_run())
    # one more engine run without the baseline's pre-cut tiles in memory, for the peak
    del batches
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    engine_times.append(engine_run())
    mask_peak_mb = None
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        mask_times.append(mask_run())
        mask_peak_mb = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux

    raw_s, engine_s, mask_s = min(raw_times), min(engine_times), min(mask_times)
    result = {
        "device": args.device,
        "raw_tiles_s": round(raw_s, 4),
        "engine_tiles_s": round(engine_s, 4),
        "ratio": round(raw_s / engine_s, 4),
        "peak_mem_mb": round(peak_mb, 1),
        "mask_tiles_s": round(mask_s, 4),
        "mask_ratio": round(raw_s / mask_s, 4),
        "mask_peak_mem_mb": mask_peak_mb,
        "size": size,
        "tile": args.tile,
        "tiles": len(positions),
        "batch_size": args.batch_size,
        "model": f"{args.model}(width={args.width},depth={args.depth})" if model_args else args.model,
        "precision": args.precision,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
    }
    return result


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    print(json.dumps(main()))
