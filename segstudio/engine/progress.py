"""Console progress for headless commands: a bar on a terminal, plain lines otherwise (no Qt)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from segstudio.engine.events import BatchSizeReduced, CheckpointSaved, EpochEnd, StepEvent, TrainEnd, TrainStart


def _f(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


class ConsoleProgress:
    """Trainer callback printing progress to ``stream`` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, line_every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.line_every_s = line_every_s
        self._last = 0.0
        self._bar_open = False

    def _print(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def on_train_start(self, ev: TrainStart) -> None:
        pre = f", pretrained {ev.pretrained}" if ev.pretrained else ""
        if ev.init_source and ev.start_epoch == 0:
            pre += f", starting from {ev.init_source.get('path')}"
        self._print(f"training {ev.model} on {ev.device} ({ev.precision}{pre}): {ev.num_train} train / {ev.num_val} val "
                    f"images, {ev.epochs} epochs x {ev.steps_per_epoch} steps, batch {ev.batch_size}; run {ev.run_dir}")

    def on_step(self, ev: StepEvent) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last < 0.1 and ev.global_step + 1 < ev.total_steps:
                return
            self._last = now
            width = 30
            done = int(width * (ev.global_step + 1) / max(1, ev.total_steps))
            bar = "#" * done + "-" * (width - done)
            self.stream.write(f"\r[{bar}] {ev.global_step + 1}/{ev.total_steps} epoch {ev.epoch + 1} "
                              f"loss {ev.loss:.4f} lr {ev.lr:.2e} {ev.images_per_s:.1f} img/s ")
            self.stream.flush()
            self._bar_open = True
        elif now - self._last >= self.line_every_s:
            self._last = now
            self._print(f"step {ev.global_step + 1}/{ev.total_steps} epoch {ev.epoch + 1} loss {ev.loss:.4f} "
                        f"lr {ev.lr:.2e} {ev.images_per_s:.1f} img/s")

    def on_epoch_end(self, ev: EpochEnd) -> None:
        self._print(f"epoch {ev.epoch + 1}/{ev.epochs}: train loss {_f(ev.train_loss)} val loss {_f(ev.val_loss)} "
                    f"mIoU {_f(ev.miou)} pixel acc {_f(ev.pixel_acc)} ({ev.seconds:.1f}s)")

    def on_checkpoint(self, ev: CheckpointSaved) -> None:
        if ev.kind == "best":
            self._print(f"saved best checkpoint {ev.path} (mIoU {_f(ev.miou)})")

    def on_batch_size_reduced(self, ev: BatchSizeReduced) -> None:
        self._print(f"warning: {ev.reason}; batch size reduced from {ev.old} to {ev.new}")

    def on_warning(self, message: str) -> None:
        self._print(f"warning: {message}")

    def on_end(self, ev: TrainEnd) -> None:
        if ev.status == "failed" and not ev.user_error:
            if ev.traceback:
                self._print(ev.traceback.rstrip())
        if ev.status != "failed" or not ev.user_error:
            self._print(f"{ev.status}: {ev.message}" + (f" (run {ev.run_dir})" if ev.run_dir else ""))
