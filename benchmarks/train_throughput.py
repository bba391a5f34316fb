"""Training throughput: segstudio's engine (from project files) vs a raw PyTorch loop (tensors already on the device).

Builds a project of synthetic 1024x768 JPEGs with masks on disk, then in one process measures
(a) a raw loop over random tensors already on the device with the same model, batch, crop,
precision, optimizer and loss, and (b) ``Trainer.run()`` on the project. Both time the same
number of steps after the same number of warm-up steps; the engine's one-time setup (decoding
the images into the device cache, building the model) is excluded and reported separately as
``engine_setup_s``. The two loops run alternately ``--rounds`` times. Images/s are training
images per second: on a GPU, steps x batch over the total time of the timed steps (best round of
each); on a CPU (shared, noisy machines) batch over the 25th-percentile step time of all rounds'
steps, which both loops measure the same way (robust to bursts of other processes on the cores).
Last line: one JSON object.

``--channels C --dtype uint16`` (or uint8, float32) builds the project from C-channel TIFFs at that
depth instead, with a native channel description: the engine then caches every channel at native
depth and normalises on the device, and the raw loop feeds the model C-channel tensors.

    python benchmarks/train_throughput.py                       # quick CPU run
    python benchmarks/train_throughput.py --channels 4 --dtype uint16
    python benchmarks/train_throughput.py --device cuda         # 512 crops, batch 8, unet
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.atomic import atomic_write_bytes  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.engine.config import TrainConfig  # noqa: E402
from segstudio.engine.device import autocast_dtype, resolve_device, resolve_precision  # noqa: E402
from segstudio.engine.models import create_model  # noqa: E402
from segstudio.engine.trainer import Trainer  # noqa: E402

GPU_DEFAULTS = dict(crop=512, batch_size=8, steps=60, warmup=15, images=24, width=32)
CPU_DEFAULTS = dict(crop=128, batch_size=4, steps=12, warmup=2, images=4, width=16)


def build_project(root: Path, n: int, size=(768, 1024), classes: int = 4, channels: int = 3,
                  dtype: str = "uint8") -> Project:
    """n synthetic images (H x W = 768 x 1024) with ellipse masks: JPEGs, or C-channel TIFFs at ``dtype``."""
    project = Project.create(root, [f"class{i}" for i in range(classes)])
    rng = np.random.default_rng(0)
    h, w = size
    native = channels != 3 or dtype != "uint8"
    for i in range(n):
        img = rng.normal(120, 25, (h // 8, w // 8, channels)).astype(np.float32)
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
        mask = np.zeros((h, w), np.uint8)
        for _ in range(20):
            c = int(rng.integers(1, classes))
            center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(10, 80)), int(rng.integers(10, 80)))
            cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, c, -1)
            for k in range(0, channels, 4):  # OpenCV draws at most 4 channels at a time
                part = np.ascontiguousarray(img[:, :, k:k + 4])
                cv2.ellipse(part, center, axes, 0, 0, 360, tuple(float(v) for v in rng.uniform(0, 255, part.shape[2])), -1)
                img[:, :, k:k + 4] = part
        img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255)
        if native:
            import tifffile

            scale = {"uint16": 257.0, "float32": 1.0 / 255.0}.get(dtype, 1.0)
            name = f"img_{i:03d}.tif"
            tifffile.imwrite(project.images_dir / name, (img * scale).astype(dtype).transpose(2, 0, 1),
                             photometric="minisblack")
            project.write_mask(name, mask)
            continue
        img = img.astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        name = f"img_{i:03d}.jpg"
        atomic_write_bytes(project.images_dir / name, buf.tobytes())
        project.write_mask(name, mask)
    if native:
        from segstudio.core.channels import infer_channels, set_project_channels
        from segstudio.core.image_io import load_image

        set_project_channels(project, infer_channels(load_image(project.list_images()[0])))
    return project


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def raw_loop(args, device: torch.device, precision: str, num_classes: int) -> tuple[float, list[float]]:
    """(images/s, step times) of a plain training loop over tensors already on the device."""
    torch.manual_seed(0)
    model = create_model(args.model, num_classes, pretrained=False, in_channels=args.channels,
                         **model_args(args)).to(device)
    model = model.to(memory_format=torch.channels_last)
    if args.compile:
        model = torch.compile(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    dtype = autocast_dtype(precision)
    b, c = args.batch_size, args.crop
    xs = [torch.randn(b, args.channels, c, c, device=device).contiguous(memory_format=torch.channels_last)
          for _ in range(4)]
    ys = [torch.randint(0, num_classes, (b, c, c), device=device) for _ in range(4)]
    model.train()
    t0 = 0.0
    stamps = []
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            sync(device)
            t0 = time.perf_counter()
        stamps.append(time.perf_counter())
        ctx = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with ctx:
            logits = model(xs[i % 4])
        loss = F.cross_entropy(logits.float(), ys[i % 4], ignore_index=255)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    sync(device)
    stamps.append(time.perf_counter())
    return args.steps * b / (time.perf_counter() - t0), list(np.diff(stamps[args.warmup:]))


def cpu_rate(batch: int, step_times: list[float]) -> float:
    """Images/s from the 25th-percentile step time (shared CPUs: robust to other processes' bursts)."""
    return batch / float(np.percentile(step_times, 25))


class StepClock:
    """Times the engine's steps from its step events (the engine reads each loss one step late on GPUs)."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.t_start = self.t_first = self.t_end = None
        self.t_run = time.perf_counter()
        self.stamps: list[float] = []

    def on_train_start(self, ev) -> None:
        self.t_first = time.perf_counter()

    def on_step(self, ev) -> None:
        if self.warmup - 1 <= ev.global_step <= self.warmup + self.steps - 1:
            self.stamps.append(time.perf_counter())
        if ev.global_step == self.warmup - 1:
            self.t_start = time.perf_counter()
        elif ev.global_step == self.warmup + self.steps - 1:
            self.t_end = time.perf_counter()

    def on_end(self, ev) -> None:
        if ev.status != "completed":
            print(f"engine run {ev.status}: {ev.message}\n{ev.traceback or ''}", file=sys.stderr)


def model_args(args) -> dict:
    return {"width": args.width} if args.model in ("unet", "segnet") else {}


def engine_loop(args, project: Project, device: torch.device, out: Path) -> tuple[float, list[float], float]:
    """(images/s, step times, setup seconds) of Trainer.run() on the project's files."""
    cfg = TrainConfig(model=args.model, model_args=model_args(args), epochs=1, batch_size=args.batch_size,
                      crop=args.crop, device=str(device), precision=args.precision, val_fraction=0.0,
                      steps_per_epoch=args.warmup + args.steps, preview_every_epoch=False, compile=args.compile,
                      pretrained=False, out=out)
    clock = StepClock(args.warmup, args.steps)
    end = Trainer(project, cfg, [clock]).run()
    if end.status != "completed" or clock.t_start is None or clock.t_end is None:
        raise SystemExit(f"engine run failed: {end.message}")
    ips = args.steps * args.batch_size / (clock.t_end - clock.t_start)
    return ips, list(np.diff(clock.stamps)), clock.t_first - clock.t_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model", default="unet")
    p.add_argument("--crop", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--images", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--precision", default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--rounds", type=int, default=None, help="alternating raw/engine rounds (default 3 on CPU, 2 on GPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--channels", type=int, default=3, help="image channels (3 with uint8: JPEGs, RGB path)")
    p.add_argument("--dtype", default="uint8", choices=("uint8", "uint16", "float32"), help="pixel type of the images")
    args = p.parse_args()
    device = resolve_device(args.device)
    defaults = GPU_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.threads:
        torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision, device)
    if device.type == "cuda":  # the same backend settings the engine uses, for the raw loop too
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    with tempfile.TemporaryDirectory(prefix="segstudio-bench-") as tmp:
        t0 = time.perf_counter()
        project = build_project(Path(tmp) / "proj", args.images, channels=args.channels, dtype=args.dtype)
        build_s = time.perf_counter() - t0
        rounds = args.rounds or (2 if device.type == "cuda" else 3)
        raw_runs, eng_runs, raw_steps, eng_steps, setups = [], [], [], [], []
        for r in range(rounds):
            ips, steps = raw_loop(args, device, precision, project.num_classes)
            raw_runs.append(ips)
            raw_steps += steps
            if device.type == "cuda":
                torch.cuda.empty_cache()
            ips, steps, setup_s = engine_loop(args, project, device, Path(tmp) / f"run{r}")
            eng_runs.append(ips)
            eng_steps += steps
            setups.append(setup_s)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if device.type == "cuda":  # best round of each (the first may still include one-time GPU warm-up)
        raw, eng = max(raw_runs), max(eng_runs)
    else:
        raw, eng = cpu_rate(args.batch_size, raw_steps), cpu_rate(args.batch_size, eng_steps)
    result = {"device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
              "model": args.model, "raw_img_s": round(raw, 2), "engine_img_s": round(eng, 2),
              "ratio": round(eng / raw, 3), "crop": args.crop, "batch_size": args.batch_size,
              "steps": args.steps, "rounds": rounds, "precision": precision,
              "raw_runs_img_s": [round(v, 2) for v in raw_runs], "engine_runs_img_s": [round(v, 2) for v in eng_runs],
              "engine_setup_s": round(max(setups), 2), "project_build_s": round(build_s, 2), "images": args.images,
              "channels": args.channels, "dtype": args.dtype}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
