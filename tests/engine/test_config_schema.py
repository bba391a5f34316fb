"""The one training-options schema: CLI options, argv for torchrun and validation all come from TrainConfig."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from segstudio.core.errors import SegstudioError
from segstudio.engine.config import (TrainConfig, add_train_arguments, config_from_args, config_to_argv, options)

#: a non-default value for every field (the round trip must cover them all)
NON_DEFAULTS = {
    "model": "segnet", "model_args": {"width": 8, "depth": 3}, "epochs": 7, "batch_size": 3, "lr": 0.0025,
    "crop": 96, "loss": "ce+dice", "class_weights": [0.5, 1.0, 2.0], "optimizer": "sgd", "scheduler": "cosine",
    "warmup_epochs": 0.5, "weight_decay": 0.001, "momentum": 0.8, "device": "cpu", "precision": "bf16", "seed": 42,
    "val_fraction": 0.3, "channels_last": False, "compile": True, "resume": Path("/runs/a/last.pt"),
    "init": Path("/runs/b/best.pt"), "out": Path("/runs/c"), "steps_per_epoch": 11, "watch_project": True,
    "value_map": {0: 0, 255: 1}, "scale_range": (0.5, 2.0), "flips": False, "color_jitter": 0.3,
    "pretrained": False,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser


def test_every_field_with_an_option_round_trips_through_argv():
    fields = {f.name for f, opt in options() if opt.cli is not None}
    assert fields <= set(NON_DEFAULTS), f"add a non-default value for {sorted(fields - set(NON_DEFAULTS))}"
    cfg = TrainConfig(**NON_DEFAULTS)
    argv = config_to_argv(cfg)
    back = config_from_args(_parser().parse_args(argv))
    for name in fields:
        assert getattr(back, name) == getattr(cfg, name), name
    assert back == cfg


def test_defaults_give_an_empty_command_line_and_parse_back_to_defaults():
    assert config_to_argv(TrainConfig()) == []
    assert config_from_args(_parser().parse_args([])) == TrainConfig()


def test_every_field_is_reachable_from_the_command_line_or_explicitly_internal():
    internal = {f.name for f, opt in options() if opt.cli is None}
    assert internal == {"preview_every_epoch", "preview_every_s"}
    assert {f.name for f in dataclasses.fields(TrainConfig)} == {f.name for f, _ in options()}


def test_json_round_trip_keeps_every_field():
    cfg = TrainConfig(**NON_DEFAULTS)
    assert TrainConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize("changes, message", [
    ({"crop": 100000}, "--crop must be at most 4096 (got 100000)"),
    ({"crop": 4}, "--crop must be at least 8"),
    ({"epochs": 0}, "--epochs must be at least 1"),
    ({"lr": -1.0}, "--lr must be at least"),
    ({"loss": "focal"}, "unknown loss 'focal'; valid: ce, dice, ce+dice"),
    ({"model": "resnet9000"}, "unknown model 'resnet9000'"),
    ({"scale_range": (2.0, 1.0)}, "--scale-range: the low end 2.0 is above the high end 1.0"),
    ({"epochs": "two"}, "--epochs must be a whole number (got 'two')"),
    ({"resume": Path("a.pt"), "init": Path("b.pt")}, "--resume and --init exclude each other"),
])
def test_validation_names_the_option_and_value(changes, message):
    with pytest.raises(SegstudioError) as info:
        dataclasses.replace(TrainConfig(), **changes).validate()
    assert message in str(info.value)


def test_from_json_refuses_values_of_the_wrong_type():
    with pytest.raises(SegstudioError, match="invalid training configuration"):
        TrainConfig.from_json({"scale_range": "wide"})
    with pytest.raises(SegstudioError, match="must be a JSON object"):
        TrainConfig.from_json(["not", "a", "dict"])
