"""Project changes are transactions: a failure, or a process killed in the middle, leaves the project as it was."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

from segstudio.core import project as project_module
from segstudio.core.errors import ProjectError, SaveError
from segstudio.core.formats import ImportOptions, import_annotations
from segstudio.core.project import Project
from segstudio.core.transaction import ProjectTransaction, pending


def _state(root) -> dict[str, str]:
    """What must survive a failed change byte for byte: segstudio.json, masks/, predictions/, images/."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.split("/")[0] in ("segstudio.json", "masks", "predictions", "images"):
            out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", ["background", "cell", "nucleus", "debris"])
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(project.images_dir / f"im{i}.png")
        project.write_mask(f"im{i}.png", rng.integers(0, 4, (12, 16), dtype=np.uint8))
    project.write_prediction("im0.png", np.full((12, 16), 3, np.uint8))
    return project


def test_delete_class_failing_midway_leaves_project_and_memory_as_before(project, monkeypatch):
    before = _state(project.root)
    calls = []
    real = project_module.write_mask

    def full_disk(path, mask, colors):
        calls.append(path)
        if len(calls) == 3:  # segstudio.json and two masks are already rewritten by now
            raise SaveError(path, "No space left on device")
        return real(path, mask, colors)

    monkeypatch.setattr(project_module, "write_mask", full_disk)
    with pytest.raises(SaveError, match="No space left on device"):
        project.delete_class(1, remap_to=2)
    monkeypatch.undo()
    assert _state(project.root) == before
    assert project.class_names == ["background", "cell", "nucleus", "debris"]  # the open project too
    assert pending(project.root) is None and not (project.root / ".segstudio").exists()
    assert Project.open(project.root).class_names == project.class_names


def _kill_during(project, op: str, die_at: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import os, signal, sys
        import segstudio.core.project as pm
        import segstudio.core.transaction as tm
        project = pm.Project.open(sys.argv[1])
        real_write, real_discard, n = pm.write_mask, tm._discard_folder, [0]
        def write(path, mask, colors):
            n[0] += 1
            if {die_at!r} == "mask" and n[0] == 2:
                os.kill(os.getpid(), signal.SIGKILL)   # after segstudio.json and one mask were rewritten
            return real_write(path, mask, colors)
        def discard(folder):
            if {die_at!r} == "commit":
                os.kill(os.getpid(), signal.SIGKILL)   # every file rewritten, the commit not yet done
            return real_discard(folder)
        pm.write_mask, tm._discard_folder = write, discard
        {op}
    """)
    return subprocess.run([sys.executable, "-c", code, str(project.root)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("die_at", ["mask", "commit"])
def test_delete_class_killed_with_sigkill_is_rolled_back_on_reopen(project, die_at):
    before = _state(project.root)
    proc = _kill_during(project, "project.delete_class(1)", die_at)
    assert proc.returncode == -9, proc.stderr
    assert pending(project.root) is not None  # the journal the killed process left
    assert _state(project.root) != before  # on disk: half done
    reopened = Project.open(project.root)  # replays the journal
    assert _state(project.root) == before
    assert reopened.class_names == ["background", "cell", "nucleus", "debris"]
    assert pending(project.root) is None


def test_recolor_killed_is_rolled_back_on_reopen(project):
    before = _state(project.root)
    assert _kill_during(project, "project.recolor_class(2, '#123456')", "mask").returncode == -9
    Project.open(project.root)
    assert _state(project.root) == before


def test_a_change_in_progress_elsewhere_is_refused_not_undone(project):
    txn = ProjectTransaction.begin(project.root, "someone else's change")
    try:
        with pytest.raises(ProjectError, match=rf"{project.root} is being changed by another segstudio process "
                                               rf"\(pid {os.getpid()}\); try again when it has finished"):
            project.delete_class(3)
        Project.open(project.root)  # a live transaction is not rolled back under its owner's feet
        assert pending(project.root) is not None
    finally:
        txn.rollback()
    assert project.class_names[3] == "debris"


def test_import_failing_midway_is_undone_completely(project, tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for i in range(5):
        Image.new("RGB", (10, 8), (i, i, i)).save(src / "images" / f"new{i}.png")
        Image.fromarray(np.full((8, 10), 200, np.uint8), "L").save(src / "masks" / f"new{i}.png")
    before = _state(project.root)
    calls = []
    real = project_module.write_mask

    def fail_third(path, mask, colors):
        calls.append(path)
        if len(calls) == 3:
            raise SaveError(path, "No space left on device")
        return real(path, mask, colors)

    monkeypatch.setattr(project_module, "write_mask", fail_third)
    with pytest.raises(SaveError):
        import_annotations("masks", src, project.root, ImportOptions(value_map={0: 0, 200: 4},
                                                                    classes=["background", "cell", "nucleus",
                                                                             "debris", "new"]))
    assert _state(project.root) == before  # no new class, no copied image, no mask
    monkeypatch.undo()
    report = import_annotations("masks", src, project.root, ImportOptions(value_map={0: 0, 200: 4},
                                                                          classes=["background", "cell", "nucleus",
                                                                                   "debris", "new"]))
    assert report.imported == 5 and Project.open(project.root).class_names[-1] == "new"


def test_temp_files_of_killed_writers_are_removed_on_open(project):
    masks = project.masks_dir
    dead = masks / ".im0.png.99999999.abc123de.tmp"  # a pid that cannot be running
    mine = masks / f".im1.png.{os.getpid()}.abc123de.tmp"  # a write of this (live) process in progress
    old = masks / ".im2.png.abc123de.tmp"  # the older name without a pid: removed once it is old
    fresh = masks / ".im3.png.zzz123de.tmp"
    user = [masks / ".notes.tmp", masks / "keep.tmp", project.root / "draft.png.tmp"]
    for p in [dead, mine, old, fresh, *user]:
        p.write_bytes(b"x")
    stamp = time.time() - 3600
    os.utime(old, (stamp, stamp))
    (project.root / "images" / ".im0.png.99999999.abc123de.tmp").write_bytes(b"x")
    Project.open(project.root)
    assert not dead.exists() and not old.exists() and not (project.root / "images" / ".im0.png.99999999.abc123de.tmp").exists()
    assert mine.exists() and fresh.exists() and all(p.exists() for p in user)
