"""Shared fixtures for engine tests: a tiny demo project and a tiny, fast training config."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_project(tmp_path: Path):
    """6 images of 64x64 (5 labeled), 4 classes."""
    from segstudio.core.demo import generate_demo_project

    return generate_demo_project(tmp_path / "proj", n_images=6, labeled=5, size=(64, 64))


@pytest.fixture
def tiny_config():
    """A config that trains in well under a second per epoch on a CPU."""
    from segstudio.engine.config import TrainConfig

    def make(**kw):
        base = dict(model="unet", model_args={"width": 4, "depth": 2}, crop=32, batch_size=2, epochs=2,
                    steps_per_epoch=3, device="cpu", lr=1e-2, seed=0, val_every=1)  # metrics every epoch
        base.update(kw)
        return TrainConfig(**base)

    return make


class Recorder:
    """A callback that records every event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def __getattr__(self, name: str):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda ev: self.events.append((name, ev))

    def of(self, name: str) -> list:
        return [ev for n, ev in self.events if n == name]


@pytest.fixture
def recorder():
    return Recorder()
