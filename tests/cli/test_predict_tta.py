"""``segstudio predict --tta``: the run's own test-time augmentation by default, overridable per call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from shared_helpers import run_cli, tiny_checkpoint

from segstudio.core.image_io import load_image
from segstudio.core.mask_io import read_mask
from segstudio.engine.predictor import Predictor


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(1)
    rgb = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(rgb).save(tmp_path / "in" / "a.png")
    torch.manual_seed(1)
    ckpt = tiny_checkpoint(tmp_path / "best.pt", config={"crop": 32, "tta": "flip"})
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    for k, v in state.items():  # an untrained net predicts one class: give it position-dependent output
        if v.is_floating_point() and "running_var" not in k:
            v.normal_(0, 0.5)
    tiny_checkpoint(ckpt, config={"crop": 32, "tta": "flip"}, state_dict=state)
    return tmp_path, ckpt


def test_predict_uses_the_runs_tta_unless_told_otherwise(setup, capsys):
    tmp_path, ckpt = setup
    image = load_image(tmp_path / "in" / "a.png")
    assert Predictor.from_checkpoint(ckpt, device="cpu").tta == "flip"
    expected = {mode: Predictor.from_checkpoint(ckpt, device="cpu", tta=mode).predict_image(image).mask
                for mode in ("flip", "none")}
    assert (expected["flip"] != expected["none"]).any()  # the two settings really differ here
    rc, _, err = run_cli(capsys, "predict", ckpt, tmp_path / "in" / "a.png", "--out", tmp_path / "run", "--device", "cpu")
    assert rc == 0, err
    assert np.array_equal(read_mask(tmp_path / "run" / "a.png"), expected["flip"])
    rc, _, err = run_cli(capsys, "predict", ckpt, tmp_path / "in" / "a.png", "--out", tmp_path / "none",
                         "--device", "cpu", "--tta", "none")
    assert rc == 0, err
    assert np.array_equal(read_mask(tmp_path / "none" / "a.png"), expected["none"])
