"""Shared by the quality benchmarks: a plain hand-written PyTorch U-Net loop, and the comparison harness.

:func:`compare` trains ``segstudio train PROJECT`` with DEFAULT settings (the CLI in this process),
measures its wall time W, then trains :func:`plain_loop` for the same W seconds under the same load,
and scores both on held-out test images (a separate project with masks that neither saw): segstudio
through ``segstudio evaluate``'s code path, the loop with its own whole-image forward pass.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.image_io import load_image  # noqa: E402
from segstudio.core.mask_io import read_mask  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.engine.metrics import confusion_matrix, metrics_from_confusion  # noqa: E402

LOOP_SETTINGS = {"model": "unet width 16 depth 4 (BN)", "optimizer": "adam", "lr": 1e-3, "loss": "ce",
                 "crop": 128, "batch_size": 4, "augment": "random crops + flips", "schedule": "none"}


# ----------------------------------------------------------------------------- the hand-written loop
def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PlainUNet(nn.Module):
    def __init__(self, cin: int, classes: int, w: int = 16, depth: int = 4) -> None:
        super().__init__()
        ch = [w * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([block(cin, ch[0])] + [block(ch[i], ch[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in range(depth)])
        self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in range(depth)])
        self.head = nn.Conv2d(ch[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, d in enumerate(self.down):
            x = d(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
        return self.head(x)


def standardize(img: np.ndarray) -> np.ndarray:
    """(H, W, C) any dtype -> (C, H, W) float32, each channel to zero mean and unit variance."""
    x = img.astype(np.float32)
    x = (x - x.mean((0, 1))) / (x.std((0, 1)) + 1e-6)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def plain_loop(images: list[np.ndarray], masks: list[np.ndarray], classes: int, seconds: float,
               crop: int = 128, batch: int = 4, seed: int = 0) -> tuple[nn.Module, int]:
    """Train a U-Net for ``seconds`` of wall time: Adam, CE, random crops + flips. Returns (model, steps)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xs = [torch.from_numpy(standardize(im)) for im in images]
    ys = [torch.from_numpy(m.astype(np.int64)) for m in masks]
    model = PlainUNet(xs[0].shape[0], classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:  # epochs until the time is up
        order = rng.permutation(len(xs))
        for b in range(0, len(order) - batch + 1, batch):
            bx, by = [], []
            for i in order[b:b + batch]:
                _, h, w = xs[i].shape
                y0, x0 = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
                cx, cy = xs[i][:, y0:y0 + crop, x0:x0 + crop], ys[i][y0:y0 + crop, x0:x0 + crop]
                if rng.random() < 0.5:
                    cx, cy = cx.flip(-1), cy.flip(-1)
                if rng.random() < 0.5:
                    cx, cy = cx.flip(-2), cy.flip(-2)
                bx.append(cx)
                by.append(cy)
            loss = F.cross_entropy(model(torch.stack(bx)), torch.stack(by), ignore_index=255)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            if time.perf_counter() - t0 >= seconds:
                break
    return model.eval(), steps


@torch.inference_mode()
def loop_predict(model: nn.Module, img: np.ndarray) -> np.ndarray:
    """Whole-image argmax (padded to a multiple of 16)."""
    x = torch.from_numpy(standardize(img))[None]
    h, w = x.shape[2:]
    x = F.pad(x, (0, -w % 16, 0, -h % 16), mode="reflect")
    return model(x)[0, :, :h, :w].argmax(0).numpy().astype(np.uint8)


# ----------------------------------------------------------------------------- the comparison
def labeled_arrays(project: Project) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every labeled image of ``project`` as (H, W, C) native arrays and uint8 masks, through the real loader."""
    images, masks = [], []
    for path in project.labeled_images():
        images.append(load_image(path).data)
        masks.append(read_mask(project.mask_path(path)))
    return images, masks


def _scores(cm: torch.Tensor, names: list[str]) -> dict:
    m = metrics_from_confusion(cm)
    return {"miou": round(m.miou, 4), "iou": {n: None if v is None else round(v, 4)
                                             for n, v in zip(names, m.per_class_iou)}}


@contextlib.contextmanager
def scoped_env(**values: str):
    """Set environment variables for the block, restoring the previous values after it."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def compare(project: Project, test: Project, threads: int = 2, with_loop: bool = True) -> dict:
    """segstudio defaults vs the plain loop for the same wall time; scores on ``test``'s labeled images.

    ``with_loop`` False: segstudio only (the test of the defaults' quality uses that).
    """
    torch.set_num_threads(threads)
    from segstudio.cli import main as cli_main
    from segstudio.commands.evaluate import evaluate

    run_dir = project.root / "runs" / "bench"
    log = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(log), scoped_env(OMP_NUM_THREADS=str(threads)):  # the CLI's thread rule
        rc = cli_main(["train", str(project.root), "--out", str(run_dir)])
    seg_wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"segstudio train failed ({rc}):\n{log.getvalue()[-2000:]}")
    epochs_done = log.getvalue().count("epoch ")  # informative only
    seg = evaluate(str(run_dir / "best.pt"), str(test.root), device="cpu")
    seg_iou = {n: None if v is None else round(v, 4) for n, v in seg["per_class_iou"].items()}
    if not with_loop:
        return {"segstudio_miou": round(seg["miou"], 4), "segstudio_wall_s": round(seg_wall, 1),
                "segstudio_iou": seg_iou}
    images, masks = labeled_arrays(project)
    t1 = time.perf_counter()
    model, steps = plain_loop(images, masks, project.num_classes, seg_wall)
    loop_wall = time.perf_counter() - t1
    C = project.num_classes
    cm = torch.zeros((C, C), dtype=torch.int64)
    for img, mask in zip(*labeled_arrays(test)):
        cm += confusion_matrix(torch.from_numpy(loop_predict(model, img)), torch.from_numpy(mask), C)
    loop = _scores(cm, project.class_names)
    return {"segstudio_miou": round(seg["miou"], 4), "loop_miou": loop["miou"],
            "ratio": round(seg["miou"] / max(loop["miou"], 1e-9), 3),
            "segstudio_wall_s": round(seg_wall, 1), "loop_wall_s": round(loop_wall, 1),
            "segstudio_iou": seg_iou, "loop_iou": loop["iou"], "loop_steps": steps,
            "segstudio_log_lines": epochs_done, "test_images": seg["images"], "threads": threads,
            "settings": {"segstudio": "segstudio train PROJECT (defaults)", "loop": LOOP_SETTINGS}}


def benchmark_main(run, description: str | None) -> None:
    """The command line both quality benchmarks share: ``--threads N``, then one JSON line of ``run(threads)``."""
    import argparse
    import json

    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    print(json.dumps(run(p.parse_args().threads)))
