"""Helpers shared by the CLI, engine and fuzz tests (imported by name: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from segstudio.cli import main
from segstudio.engine.checkpoint import FORMAT, VERSION, save_checkpoint
from segstudio.engine.models import create_model

CLASSES = [{"id": 0, "name": "background", "color": "#000000"}, {"id": 1, "name": "cell", "color": "#e6194b"},
           {"id": 2, "name": "nucleus", "color": "#3cb44b"}, {"id": 3, "name": "debris", "color": "#4363d8"}]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``segstudio ARGV`` run in this process."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    """The single 'segstudio: error: ...' line a user error prints (no traceback, nothing else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("segstudio: error: "), err
    return lines[0]


def tiny_checkpoint(path: Path, **override) -> Path:
    """A real (untrained) 4-class unet checkpoint, saved the way the trainer saves one."""
    torch.manual_seed(0)
    model = create_model("unet", 4, pretrained=False, width=4, depth=2).eval()
    ckpt = {"format": FORMAT, "version": VERSION, "model": {"name": "unet", "args": {"width": 4, "depth": 2}},
            "num_classes": 4, "classes": CLASSES, "normalization": {"mean": [0.5] * 3, "std": [0.25] * 3},
            "config": {"crop": 32}, "epoch": 1, "global_step": 1, "metrics": {}, "state_dict": model.state_dict()}
    ckpt.update(override)
    return save_checkpoint(path, ckpt)


def tree_digest(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root`` (folders as 'dir')."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out
