"""The command-line front end: version, help, user errors as one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys


from segstudio import __version__
from segstudio.cli import SUBCOMMANDS, main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"segstudio {__version__}"


def test_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_python_dash_m_segstudio_help():
    out = subprocess.run([sys.executable, "-m", "segstudio", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "export-model" in out.stdout and "train" in out.stdout


def test_bad_option_exits_2_with_one_line():
    out = subprocess.run([sys.executable, "-m", "segstudio", "train"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "error" in out.stderr and "Traceback" not in out.stderr
