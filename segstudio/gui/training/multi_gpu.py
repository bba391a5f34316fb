"""Multi-GPU training from the panel (issue #7): ``torchrun`` in a QProcess, followed through metrics.jsonl.

The subprocess writes its run folder (rank 0 only); :class:`MultiGpuRun` polls ``RUN_DIR/metrics.jsonl``
so the panel draws the same live curves as for an in-process training. Stop = terminate, then kill
after a timeout.
"""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

from segstudio.gui.training.metrics_follower import MetricsFollower


def torchrun_command(nproc: int, project: str | Path, config: dict, out: str | Path,
                     python: str | None = None, device: str = "cuda") -> tuple[str, list[str]]:
    """(program, arguments) for ``python -m torch.distributed.run --nproc_per_node=N -m segstudio train ...``.

    The options come from the one training-options schema (``engine.config.config_to_argv``), so every
    setting of the GUI form reaches the ranks. Each rank takes its GPU from LOCAL_RANK (``--device cuda``);
    ``device="cpu"`` runs gloo ranks (tests).
    """
    import dataclasses

    from segstudio.engine.config import TrainConfig, config_to_argv

    cfg = dataclasses.replace(TrainConfig.from_json(config), device=device, out=Path(out))
    args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={int(nproc)}",
            "-m", "segstudio", "train", str(project)] + config_to_argv(
        cfg, skip=("preview_every_epoch", "preview_every_s"))  # no previews come from another process
    return python or sys.executable, args


class MultiGpuRun(QObject):
    """A training subprocess followed through its metrics.jsonl.

    Signals: ``recordsAppended(list[dict])`` (new metrics lines), ``output(str)`` (process text),
    ``finished(int exit_code, str status)`` with status "completed" | "cancelled" | "failed".
    """

    recordsAppended = Signal(object)
    output = Signal(str)
    finished = Signal(int, str)

    def __init__(self, run_dir: str | Path, poll_ms: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self.follower = MetricsFollower(self.run_dir / "metrics.jsonl", poll_ms, self)
        self.follower.recordsAppended.connect(self.recordsAppended)
        self.tail_lines: deque[str] = deque(maxlen=200)
        self._stopping = False
        self._done = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    def start(self, program: str, args: list[str]) -> None:
        """Start ``program args`` and begin following RUN_DIR/metrics.jsonl."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.start(program, args)
        self.follower.start()

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self, kill_after_ms: int = 5000) -> None:
        """Terminate (SIGTERM: torchrun forwards it to the ranks), kill if still alive after ``kill_after_ms``."""
        if not self.is_running():
            return
        self._stopping = True
        self.process.terminate()
        self._kill_timer.start(kill_after_ms)

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the process ended (window close); kills it when terminate is not enough."""
        if not self.is_running():
            return True
        self.stop(timeout_ms // 2)
        if not self.process.waitForFinished(timeout_ms // 2):
            self._kill()
            return self.process.waitForFinished(timeout_ms // 2)
        return True

    def output_text(self) -> str:
        return "".join(self.tail_lines)

    @Slot()
    def _kill(self) -> None:
        if self.is_running():
            self.process.kill()

    @Slot()
    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        if text:
            for line in text.splitlines(keepends=True):
                self.tail_lines.append(line)
            self.output.emit(text)

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, _status) -> None:
        self._finish(code)

    @Slot(QProcess.ProcessError)
    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.tail_lines.append(f"could not start {self.process.program()}: {self.process.errorString()}\n")
            self._finish(-1)

    def _finish(self, code: int) -> None:
        if self._done:
            return
        self._done = True
        self._kill_timer.stop()
        self._read_output()
        self.follower.stop()
        status = "cancelled" if self._stopping else ("completed" if code == 0 else "failed")
        self.finished.emit(int(code), status)
