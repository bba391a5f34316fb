"""Console progress: a redrawn bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io
from pathlib import Path

from segstudio.engine.events import EpochEnd, StepEvent, TrainEnd, TrainStart
from segstudio.engine.progress import ConsoleProgress


def _feed(progress: ConsoleProgress) -> None:
    progress.on_train_start(TrainStart(Path("run"), "unet", "cpu", "fp32", 1, 3, 2, 4, 1, ["a", "b"]))
    for i in range(3):
        progress.on_step(StepEvent(0, i, i, 3, 1.0 / (i + 1), 1e-3, 10.0))
    progress.on_epoch_end(EpochEnd(0, 1, 0.5, 0.4, 0.7, [0.6, 0.8], 0.8, 0.9, 1.2))
    progress.on_end(TrainEnd("completed", "done", None, Path("run"), 0.7))


def test_terminal_gets_a_bar():
    out = io.StringIO()
    _feed(ConsoleProgress(out, tty=True))
    text = out.getvalue()
    assert "\r[" in text and "3/3" in text and "epoch 1/1" in text and "mIoU 0.7000" in text


def test_pipe_gets_plain_lines():
    out = io.StringIO()
    _feed(ConsoleProgress(out, tty=False, line_every_s=0.0))
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert any(line.startswith("step 1/3") for line in lines) and lines[-1].startswith("completed: done")
