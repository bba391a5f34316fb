"""Atomic writes: an interrupted save never damages the existing file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from segstudio.core.atomic import atomic_write, atomic_write_bytes, atomic_write_json
from segstudio.core.errors import SaveError
from segstudio.core.mask_io import read_mask, write_mask


def test_interrupted_between_write_and_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "mask.png"
    write_mask(path, np.zeros((10, 10), np.uint8), [(0, 0, 0), (255, 0, 0)])
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SaveError) as err:
        write_mask(path, np.ones((10, 10), np.uint8), [(0, 0, 0), (255, 0, 0)])
    assert "mask.png" in str(err.value) and "No space left" in str(err.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png"]  # no temp file left behind


def test_failing_writer_leaves_no_trace(tmp_path):
    path = tmp_path / "f.json"
    atomic_write_json(path, {"a": 1})

    def half(fh):
        fh.write(b'{"a": ')
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        atomic_write(path, half)
    assert path.read_text().strip() == '{\n  "a": 1\n}'
    assert len(list(tmp_path.iterdir())) == 1


def test_replace_keeps_permissions(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640


WRITER = r"""
import sys, numpy as np
from segstudio.core.mask_io import write_mask
path = sys.argv[1]
i = 0
print("ready", flush=True)
while True:
    i += 1
    write_mask(path, np.full((600, 600), i % 2, np.uint8), [(0, 0, 0), (255, 0, 0)])
"""


def test_killed_writer_process_never_leaves_a_broken_mask(tmp_path):
    path = tmp_path / "mask.png"
    write_mask(path, np.zeros((600, 600), np.uint8), [(0, 0, 0), (255, 0, 0)])
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.15 + 0.1 * attempt)  # kill it mid-stream, at a different moment each time
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        mask = read_mask(path)  # always a complete, valid mask: all zeros or all ones
        assert mask.shape == (600, 600)
        assert np.all(mask == mask[0, 0])
