"""One rule for torch's CPU threads (engine/threads.py), used by the CLI and the GUI's training worker."""

from __future__ import annotations

import pytest
import torch

from segstudio.engine.threads import THREADS_ENV, apply_torch_threads, torch_threads


@pytest.mark.parametrize("env, gui, cpus, expected", [
    ({}, False, 8, 8),                                        # headless: every usable core
    ({}, True, 8, 7),                                         # in the app: one core left to the GUI thread
    ({}, True, 1, 1),                                         # never fewer than one
    ({"OMP_NUM_THREADS": "3"}, False, 8, 3),                  # the standard knob as given
    ({"OMP_NUM_THREADS": "3"}, True, 8, 3),
    ({THREADS_ENV: "5", "OMP_NUM_THREADS": "3"}, True, 8, 5),  # segstudio's own override wins
    ({THREADS_ENV: "zero", "OMP_NUM_THREADS": "0"}, False, 4, 4),  # unusable values are ignored
    ({"LOCAL_WORLD_SIZE": "4"}, False, 16, 4),                # torchrun: the node's cores shared by its ranks
    ({"LOCAL_WORLD_SIZE": "4"}, False, 2, 1),
])
def test_thread_rule(env, gui, cpus, expected):
    assert torch_threads(gui=gui, environ=env, cpus=cpus) == expected


def test_the_cli_applies_the_rule(monkeypatch):
    from segstudio.commands.train import _limit_threads

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        _limit_threads()
        assert torch.get_num_threads() == 1
        monkeypatch.delenv(THREADS_ENV)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert apply_torch_threads() == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
