"""Demo-project quality: train with the DEFAULT TrainConfig on the CPU, report validation mIoU and time.

Generates the demo project (4 classes, 256x256, 20 labeled of 40), runs ``Trainer`` with
``TrainConfig(device=...)`` and nothing else changed, and prints as its last line
``{"miou": best validation mIoU, "seconds": wall time of the whole run, ...}``.
Target: mIoU >= 0.8 in under 2 minutes on 2 CPU cores.

    python benchmarks/demo_miou.py [--threads 2] [--device cpu]
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
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.mious: list[float | None] = []

    def on_epoch_end(self, ev) -> None:
        self.mious.append(ev.miou)
        if self.verbose:
            print(f"epoch {ev.epoch + 1}/{ev.epochs} loss {ev.train_loss:.3f} val mIoU {ev.miou:.3f} ({ev.seconds:.1f}s)",
                  file=sys.stderr)


def run_demo(threads: int = 2, device: str = "cpu", verbose: bool = False) -> dict:
    """Train the demo project with default settings; returns the result dict."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="segstudio-demo-") as tmp:
        project = generate_demo_project(Path(tmp) / "demo")
        epochs = _Epochs(verbose)
        t0 = time.perf_counter()
        end = Trainer(project, TrainConfig(device=device), [epochs]).run()
        seconds = time.perf_counter() - t0
    if end.status != "completed":
        raise SystemExit(f"training {end.status}: {end.message}")
    return {"miou": round(end.best_miou, 4), "seconds": round(seconds, 1), "final_miou": epochs.mious[-1],
            "epochs": len(epochs.mious), "threads": threads, "device": device}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    print(json.dumps(run_demo(args.threads, args.device, args.verbose)))


if __name__ == "__main__":
    main()
