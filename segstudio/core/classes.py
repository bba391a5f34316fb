"""Class definitions (id, name, colour) and the mask palette built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

IGNORE_INDEX = 255
#: Colour the palette gives to 255 (unlabeled); Pascal VOC's "void" colour.
UNLABELED_COLOR = (224, 224, 192)

DEFAULT_COLORS: tuple[str, ...] = (
    "#000000", "#e6194b", "#3cb44b", "#4363d8", "#ffe119", "#f58231", "#911eb4", "#46f0f0",
    "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000",
    "#aaffc3", "#808000", "#ffd8b1", "#000075", "#808080",
)

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_color(value: str | tuple[int, int, int] | list[int]) -> tuple[int, int, int]:
    """'#rrggbb' (or 'rrggbb', or an (r, g, b) sequence) -> (r, g, b); ValueError names the value."""
    if isinstance(value, (tuple, list)):
        if len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in value):
            return (int(value[0]), int(value[1]), int(value[2]))
        raise ValueError(f"invalid colour {value!r}: expected three integers 0-255")
    match = _HEX.match(str(value).strip())
    if not match:
        raise ValueError(f"invalid colour {value!r}: expected '#rrggbb'")
    h = match.group(1)
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


#: A class name longer than this is refused (it is shown in menus and written into every export).
MAX_CLASS_NAME = 200


def check_class_name(name: object) -> str:
    """The stripped name, or ValueError saying why it cannot be a class name."""
    if not isinstance(name, str):
        raise ValueError(f"a class name must be text, not {type(name).__name__}")
    name = name.strip()
    if not name:
        raise ValueError("a class name cannot be empty")
    if len(name) > MAX_CLASS_NAME:
        raise ValueError(f"class name {name[:40]!r}... is longer than {MAX_CLASS_NAME} characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"class name {name[:40]!r} is not valid text") from None
    return name


def color_to_hex(rgb: tuple[int, int, int]) -> str:
    """(r, g, b) -> '#rrggbb'."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def default_color(class_id: int) -> str:
    """A distinct default colour for a class id."""
    if class_id < len(DEFAULT_COLORS):
        return DEFAULT_COLORS[class_id]
    # golden-ratio hues for many classes
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((class_id * 0.618033988749895) % 1.0, 0.75, 0.95)
    return color_to_hex((int(r * 255), int(g * 255), int(b * 255)))


@dataclass
class ClassInfo:
    """One semantic class: its id is the pixel value in masks."""

    id: int
    name: str
    color: str = "#000000"

    @property
    def rgb(self) -> tuple[int, int, int]:
        return parse_color(self.color)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "color": self.color}


def build_palette(colors: list[tuple[int, int, int]]) -> list[int]:
    """A 768-entry flat PIL palette: class colours first, 255 = the unlabeled colour."""
    if len(colors) > 255:
        raise ValueError(f"too many classes ({len(colors)}); at most 255 fit in an 8-bit mask")
    flat = [0] * 768
    for i, (r, g, b) in enumerate(colors):
        flat[3 * i : 3 * i + 3] = [r, g, b]
    flat[3 * 255 : 3 * 256] = list(UNLABELED_COLOR)
    return flat


def delete_class_lut(num_classes: int, class_id: int, remap_to: int | None) -> np.ndarray:
    """The 256-entry table that renumbers mask values when ``class_id`` is deleted: its pixels become
    ``remap_to`` (a remaining id, None = unlabeled) and the ids above it shift down by one."""
    import numpy as np

    lut = np.arange(256, dtype=np.uint8)
    target = IGNORE_INDEX if remap_to is None else (remap_to if remap_to < class_id else remap_to - 1)
    lut[class_id] = target
    lut[class_id + 1: num_classes] = np.arange(class_id, num_classes - 1, dtype=np.uint8)
    return lut


def default_classes(names: list[str]) -> list[ClassInfo]:
    """ClassInfo list for names, ids 0.. with default colours."""
    return [ClassInfo(i, n, default_color(i)) for i, n in enumerate(names)]
