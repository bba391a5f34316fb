"""Fuzzing segstudio.json (hypothesis): whatever the project file holds, opening the project and changing its
classes raise nothing but SegstudioError, never touch a file outside the project, and leave a file that opens."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from fuzz_strategies import JSON, NUMBERS, TEXT, dump_json, png_bytes, tree_digest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from segstudio.core.errors import SegstudioError
from segstudio.core.project import Project

COLORS = st.one_of(st.sampled_from(["#000000", "#ff00ff", "00ff00", "red", "#12", "#GGGGGG"]),
                   st.lists(NUMBERS, max_size=4), JSON)
CLASS = st.fixed_dictionaries({"name": st.one_of(TEXT, JSON)},
                              optional={"id": st.one_of(st.integers(0, 6), JSON), "color": COLORS})
CONFIG = st.one_of(
    st.fixed_dictionaries({"classes": st.one_of(st.lists(CLASS, min_size=0, max_size=6), JSON)},
                          optional={"version": st.one_of(st.just(1), JSON), "ignore_index": st.one_of(st.just(255), JSON),
                                    "channels": JSON, "extra": JSON}),
    JSON)
OPERATIONS = st.lists(st.tuples(st.sampled_from(["add", "rename", "recolor", "delete", "save"]),
                                st.integers(-1, 7), st.one_of(TEXT, COLORS), st.one_of(st.none(), st.integers(-1, 7))),
                      max_size=4)


def assert_changes_are_safe(write_config, operations) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "p"
        (root / "images").mkdir(parents=True)
        (root / "images" / "a.png").write_bytes(png_bytes())
        (root / "masks").mkdir()
        Image.fromarray(np.tile(np.array([0, 1, 2, 255], np.uint8), (10, 3)), "P").save(root / "masks" / "a.png")
        (tmp / "outside.txt").write_text("not the project's")
        write_config(root / "segstudio.json")
        before = tree_digest(tmp, skip=(root,))
        try:
            project = Project.open(root)
            project.list_images()
            for op, class_id, arg, remap in operations:
                try:
                    if op == "add":
                        project.add_class(arg)
                    elif op == "rename":
                        project.rename_class(class_id, arg)
                    elif op == "recolor":
                        project.recolor_class(class_id, arg)
                    elif op == "delete":
                        project.delete_class(class_id, remap)
                    else:
                        project.save()
                except SegstudioError as exc:
                    assert str(exc) and "\n" not in str(exc)
                Project.open(root)  # after every change the project still opens
        except SegstudioError as exc:
            assert str(exc) and "\n" not in str(exc)
        assert tree_digest(tmp, skip=(root,)) == before


@given(config=CONFIG, operations=OPERATIONS)
def test_fuzz_project_file_values(config, operations):
    assert_changes_are_safe(lambda path: path.write_text(dump_json(config), encoding="utf-8"), operations)


@given(data=st.binary(max_size=200), operations=OPERATIONS)
def test_fuzz_project_file_bytes(data, operations):
    assert_changes_are_safe(lambda path: path.write_bytes(data), operations)
