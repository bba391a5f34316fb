"""Fuzzing the checkpoint loader (hypothesis): whatever a weights-only checkpoint holds, loading it, building its
model and predicting with it raise nothing but SegstudioError and write nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from fuzz_strategies import JSON, NUMBERS, TEXT, tree_digest
from hypothesis import given
from hypothesis import strategies as st
from shared_helpers import CLASSES, tiny_checkpoint

from segstudio.core.errors import SegstudioError
from segstudio.engine.checkpoint import (
    build_model_from_checkpoint,
    checkpoint_classes,
    checkpoint_normalization,
    load_checkpoint,
)
from segstudio.engine.predictor import Predictor

TENSORS = st.builds(lambda shape, v: torch.full(shape, float(v)), st.lists(st.integers(0, 3), max_size=3),
                    st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))))
VALUES = st.recursive(st.one_of(JSON, TENSORS), lambda kids: st.lists(kids, max_size=3)
                      | st.dictionaries(TEXT, kids, max_size=3), max_leaves=10)
MODEL = st.one_of(st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["unet", "segnet", "bogus"]), JSON)},
                                        optional={"args": st.one_of(st.dictionaries(
                                            st.sampled_from(["width", "depth", "in_channels", "x"]),
                                            st.one_of(NUMBERS, TEXT), max_size=3), JSON)}), VALUES)
ENTRIES = st.dictionaries(
    st.sampled_from(["format", "version", "model", "num_classes", "classes", "state_dict", "normalization", "config",
                     "split", "metrics", "epoch", "global_step", "position", "steps_per_epoch", "epoch_loss",
                     "best_miou", "optimizer", "scheduler", "scaler", "rng", "pretrained"]),
    st.one_of(VALUES, MODEL, st.lists(st.fixed_dictionaries({"id": st.one_of(st.integers(0, 4), JSON),
                                                             "name": TEXT}), max_size=5),
              st.fixed_dictionaries({"mean": st.lists(st.one_of(st.just(0.5), NUMBERS), max_size=5),
                                     "std": st.lists(st.one_of(st.just(0.25), NUMBERS), max_size=5)}),
              st.fixed_dictionaries({"crop": NUMBERS})),
    max_size=4)


@given(entries=ENTRIES, drop=st.lists(st.sampled_from(["model", "classes", "state_dict", "num_classes"]), max_size=2))
def test_fuzz_checkpoint_entries(entries, drop):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tiny_checkpoint(tmp / "ck.pt", **entries)
        if drop:
            ckpt = torch.load(path, weights_only=True)
            for key in drop:
                ckpt.pop(key, None)
            torch.save(ckpt, path)
        before = tree_digest(tmp)
        try:
            ckpt = load_checkpoint(path)
            checkpoint_classes(ckpt)
            checkpoint_normalization(ckpt)
            build_model_from_checkpoint(ckpt)
            predictor = Predictor.from_checkpoint(path, device="cpu")
            predictor.predict(np.zeros((9, 11, 3), np.uint8))
        except SegstudioError as exc:
            assert str(exc) and "\n" not in str(exc)
        assert tree_digest(tmp) == before


@given(data=st.binary(max_size=300))
def test_fuzz_checkpoint_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ck.pt"
        path.write_bytes(data)
        try:
            ckpt = load_checkpoint(path)
        except SegstudioError as exc:  # one line that names the file
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            assert isinstance(ckpt, dict) and ckpt.get("format")
        assert path.read_bytes() == data  # reading never changes the file


def test_the_fuzzed_base_checkpoint_is_valid(tmp_path):
    path = tiny_checkpoint(tmp_path / "ck.pt")
    assert [c.name for c in checkpoint_classes(load_checkpoint(path))] == [c["name"] for c in CLASSES]
    assert Predictor.from_checkpoint(path, device="cpu").predict(np.zeros((9, 11, 3), np.uint8)).mask.shape == (9, 11)
