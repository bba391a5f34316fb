"""A start without a console (stdout/stderr None) must not crash; logs go to the user log folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from segstudio import __version__


def _run(code: str, log_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SEGSTUDIO_LOG_DIR=str(log_dir))
    env.pop("RANK", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_no_console_streams_go_to_log_file(tmp_path):
    log_dir = tmp_path / "logs"
    proc = _run("""
        import logging, sys, warnings
        sys.stdout = sys.stderr = None          # what pythonw / a windowed frozen app gets
        from segstudio.logging_setup import setup_logging
        state = setup_logging()
        logging.getLogger("segstudio.engine.trainer").warning("logged-warning-123")
        logging.getLogger("segstudio.gui").info("logged-info-456")
        print("printed-line-789")
        warnings.warn("python-warning-000")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())     # what an uncaught exception does
        sys.stdout.flush()
        assert state.redirected_stdout and state.redirected_stderr
        raise SystemExit(0 if state.log_file is not None else 3)
    """, log_dir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # nothing reached the (absent) console
    text = (log_dir / "segstudio.log").read_text(encoding="utf-8")
    for needle in ("logged-warning-123", "logged-info-456", "printed-line-789", "python-warning-000",
                   "RuntimeError: boom", f"segstudio {__version__} starting", "no console"):
        assert needle in text, needle


def test_cli_main_without_console_prints_version_into_log(tmp_path):
    log_dir = tmp_path / "logs"
    proc = _run("""
        import sys
        sys.stdout = sys.stderr = None
        from segstudio.cli import main
        try:
            main(["--version"])                  # argparse prints the version, then exits 0
        except SystemExit as exc:
            raise SystemExit(exc.code)
    """, log_dir)
    assert proc.returncode == 0, proc.stderr
    text = (log_dir / "segstudio.log").read_text(encoding="utf-8")
    assert f"segstudio {__version__}\n" in text


def test_with_console_warnings_still_reach_stderr_and_file(tmp_path):
    log_dir = tmp_path / "logs"
    proc = _run("""
        import logging
        from segstudio.logging_setup import setup_logging, log_file_path
        first = setup_logging()
        again = setup_logging()                  # idempotent: no duplicate handlers
        assert first is again
        logging.getLogger("segstudio.x").warning("visible-warning")
        logging.getLogger("segstudio.x").info("file-only-info")
        print("stdout-stays", log_file_path())
    """, log_dir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("visible-warning") == 1
    assert "file-only-info" not in proc.stderr
    assert proc.stdout.startswith("stdout-stays ")
    assert Path(proc.stdout.split(" ", 1)[1].strip()) == log_dir / "segstudio.log"
    text = (log_dir / "segstudio.log").read_text(encoding="utf-8")
    assert "visible-warning" in text and "file-only-info" in text


def test_unwritable_log_dir_falls_back_without_crash(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    proc = _run("""
        import logging, sys
        sys.stdout = sys.stderr = None
        from segstudio.logging_setup import setup_logging
        state = setup_logging()
        logging.getLogger("segstudio").warning("still-fine")
        print("print-still-fine")
        sys.stdout.flush()
        open(sys.argv[1], "w").write(str(state.log_file))
    """, blocker / "logs", str(tmp_path / "where.txt"))
    assert proc.returncode == 0, proc.stderr
    where = Path((tmp_path / "where.txt").read_text())
    assert where.parent.name == "segstudio-logs"  # the temp-folder fallback
    assert "print-still-fine" in where.read_text(encoding="utf-8")


def test_rank_specific_log_file_under_torchrun(tmp_path, monkeypatch):
    from segstudio.logging_setup import default_log_file

    monkeypatch.setenv("SEGSTUDIO_LOG_DIR", str(tmp_path))
    monkeypatch.setenv("RANK", "2")
    assert default_log_file() == tmp_path / "segstudio-rank2.log"
    monkeypatch.setenv("RANK", "0")
    assert default_log_file() == tmp_path / "segstudio.log"


def test_a_full_disk_under_the_log_never_stops_a_command(tmp_path):
    if not os.path.exists("/dev/full"):
        import pytest

        pytest.skip("needs /dev/full")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    os.symlink("/dev/full", log_dir / "segstudio.log")  # every write fails with ENOSPC
    src = tmp_path / "lm"
    src.mkdir()
    from PIL import Image

    Image.new("RGB", (20, 10)).save(src / "a.png")
    (src / "a.json").write_text('{"shapes": [{"label": "x", "points": [[1, 1], [9, 1], [9, 9]]}], "imagePath": "a.png"}')
    proc = _run("""
        import logging, sys
        from segstudio.cli import main
        for i in range(2000):  # far more than any buffer
            logging.getLogger("segstudio.test").warning("filler %d " + "x" * 200, i)
        code = main(["import", "labelme", sys.argv[1], sys.argv[2]])
        sys.stdout = sys.stderr = None  # and a start without a console, whose output goes to the log too
        from segstudio.logging_setup import setup_logging
        setup_logging(log_file=sys.argv[3])
        print("y" * 100000)
        sys.stdout.flush()
        raise SystemExit(code)
    """, log_dir, str(src), str(tmp_path / "p"), "/dev/full")
    assert proc.returncode == 0, proc.stderr
    assert "Logging error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "imported 1 mask(s)" in proc.stdout
