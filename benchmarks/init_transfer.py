"""Fine-tuning from an earlier model (``--init``) vs training from scratch, on a second, similar project.

Generates two demo-like projects with different seeds (same classes, other images), trains a small
U-Net on the first, then trains one epoch on the second twice with the same seed and settings: from
scratch and with ``init`` = the first run's best.pt. Prints as its last line
``{"scratch_val_loss": ..., "init_val_loss": ..., "ratio": init / scratch, ...}`` (target: ratio < 1).

    python benchmarks/init_transfer.py [--threads 2] [--device cpu] [--pre-epochs 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segstudio.core.demo import generate_demo_project  # noqa: E402
from segstudio.engine.config import TrainConfig  # noqa: E402
from segstudio.engine.trainer import Trainer  # noqa: E402


class _Epochs:
    def __init__(self) -> None:
        self.val_loss: list[float | None] = []
        self.miou: list[float | None] = []

    def on_epoch_end(self, ev) -> None:
        self.val_loss.append(ev.val_loss)
        self.miou.append(ev.miou)


def _train(project, out: Path, device: str, epochs: int, steps: int, **kw) -> _Epochs:
    rec = _Epochs()
    cfg = TrainConfig(model="unet", model_args={"width": 8, "depth": 3}, crop=96, batch_size=4, lr=1e-2, seed=0,
                      device=device, pretrained=False, preview_every_epoch=False, val_fraction=0.25, epochs=epochs,
                      steps_per_epoch=steps, out=out, **kw)
    end = Trainer(project, cfg, [rec]).run()
    if end.status != "completed":
        raise SystemExit(f"training {end.status}: {end.message}")
    return rec


def run(threads: int = 2, device: str = "cpu", pre_epochs: int = 8, steps: int = 10, size: int = 128) -> dict:
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="segstudio-init-") as tmp:
        root = Path(tmp)
        first = generate_demo_project(root / "first", n_images=12, labeled=12, seed=1, size=(size, size))
        second = generate_demo_project(root / "second", n_images=12, labeled=12, seed=2, size=(size, size))
        pre = _train(first, root / "pre", device, pre_epochs, steps)
        scratch = _train(second, root / "scratch", device, 1, steps)
        init = _train(second, root / "init", device, 1, steps, init=root / "pre" / "best.pt")
    s, i = scratch.val_loss[0], init.val_loss[0]
    return {"scratch_val_loss": round(s, 4), "init_val_loss": round(i, 4), "ratio": round(i / s, 4),
            "scratch_miou": round(scratch.miou[0], 4), "init_miou": round(init.miou[0], 4),
            "source_best_miou": round(max(m for m in pre.miou if m is not None), 4), "pre_epochs": pre_epochs,
            "steps_per_epoch": steps, "size": size, "device": device, "threads": threads,
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--pre-epochs", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--size", type=int, default=128)
    a = p.parse_args()
    print(json.dumps(run(a.threads, a.device, a.pre_epochs, a.steps, a.size)))


if __name__ == "__main__":
    main()
