"""Checkpoint entries are type- and range-checked before use: one line naming the file and entry, never a traceback."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from shared_helpers import one_error_line, run_cli, tiny_checkpoint

from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import build_model_from_checkpoint, load_checkpoint
from segstudio.engine.model_limits import check_model_size


@pytest.mark.parametrize("override,message", [
    ({"model": "unet"}, "entry 'model' must be an object with a 'name' (got 'unet')"),
    ({"state_dict": "weights"}, "entry 'state_dict' must be a mapping of parameter names to tensors (got 'weights')"),
    ({"num_classes": "two"}, "entry 'num_classes' must be a whole number from 1 to 255 (got 'two')"),
    ({"num_classes": True}, "entry 'num_classes' must be a whole number from 1 to 255 (got True)"),
    ({"num_classes": 3}, "entry 'classes' must be a list of 3 classes with ids 0..2 and distinct, non-empty names"),
    ({"classes": "bg,fg"}, "entry 'classes' must be a list of 4 classes"),
    ({"version": "1"}, "entry 'version' must be a whole number (got str)"),
    ({"normalization": {"mean": [0.5] * 3, "std": [0.0] * 3}}, "entry 'normalization' must be an object with"),
    ({"normalization": {"mean": [0.5], "std": [0.25]}}, "entry 'normalization' must be an object with 'mean' and "
                                                        "positive 'std' lists of 3 numbers (one per input channel)"),
    ({"config": {"crop": "big"}}, "entry 'config' must be an object (with a whole-number 'crop') (got dict)"),
    ({"split": {"train": [1, 2]}}, "entry 'split' must be an object with 'train' and 'val' lists of image ids"),
    ({"model": {"name": "unet", "args": [4]}}, "entry 'model' has 'args' that are not an object (list)"),
])
def test_entries_of_the_wrong_type(tmp_path, capsys, override, message):
    path = tiny_checkpoint(tmp_path / "bad.pt", **override)
    with pytest.raises(SegstudioError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"checkpoint {path}: {message}"), str(err.value)
    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "in" / "x.png")
    for argv in (["predict", path, tmp_path / "in", "--out", tmp_path / "o"],
                 ["export-model", path, "-o", tmp_path / "m.pt"], ["evaluate", path, tmp_path / "in"]):
        rc, _, err_text = run_cli(capsys, *argv)
        assert rc == 2 and one_error_line(err_text).startswith(f"segstudio: error: checkpoint {path}: {message}")


@pytest.mark.parametrize("args,message", [
    ({"width": 100000, "depth": 4}, "would have 75,740,041,400,022 parameters (302,960 GB); refusing"),
    ({"width": 4, "depth": 1000}, "model argument depth=1000 is out of range (at most 12)"),
    ({"width": 10 ** 30}, "model argument width=1000000000000000000000000000000 is out of range"),
    ({"width": "wide"}, "invalid arguments for model 'unet'"),
    ({"width": [4]}, "model argument 'width' must be a number, true/false or text (got list)"),
    ({"colour": 3}, "invalid arguments for model 'unet': UNet.__init__() got an unexpected keyword argument 'colour'"),
])
def test_model_arguments_are_bounded_before_the_model_is_built(tmp_path, args, message):
    path = tiny_checkpoint(tmp_path / "huge.pt", model={"name": "unet", "args": args})
    with pytest.raises(SegstudioError) as err:
        build_model_from_checkpoint(load_checkpoint(path))
    assert str(err.value).startswith(f"checkpoint {path}: ") and message in str(err.value), str(err.value)


def test_size_check_builds_nothing_real():
    before = torch.cuda.memory_allocated() if torch.cuda.is_available() else 0
    with pytest.raises(SegstudioError, match=r"would have 75,740,041,200,020 parameters \(302,960 GB\); refusing"):
        check_model_size("unet", 2, {"width": 100000}, "test")
    assert (torch.cuda.memory_allocated() if torch.cuda.is_available() else 0) == before
    assert check_model_size("unet", 2, {"width": 8, "depth": 3}, "test") == {"width": 8, "depth": 3}


def test_resume_from_a_checkpoint_whose_optimizer_state_does_not_fit(tiny_project, tiny_config, tmp_path):
    from segstudio.engine.checkpoint import save_checkpoint
    from segstudio.engine.trainer import Trainer

    end = Trainer(tiny_project, tiny_config(epochs=1, out=tmp_path / "run")).run()
    assert end.status == "completed", end.message
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    ckpt["optimizer"] = {"state": {}, "param_groups": [{"params": [0]}]}
    save_checkpoint(tmp_path / "run" / "last.pt", ckpt)
    end = Trainer(tiny_project, tiny_config(epochs=2, resume=tmp_path / "run" / "last.pt")).run()
    assert end.status == "failed" and end.user_error
    assert end.message.startswith(f"cannot resume from {tmp_path / 'run' / 'last.pt'}: its optimizer, schedule or "
                                  "random state does not fit this run")
