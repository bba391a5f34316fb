"""The project's channel description: what the model sees of every image, stored in segstudio.json.

Two kinds (key ``"channels"`` of segstudio.json; absent = RGB, so old projects keep working):

* ``"rgb"``: the model sees the 8-bit RGB view of each image (``LoadedImage.rgb``) normalised
  with ImageNet's mean/std — the path of every project before channel descriptions existed.
  Gray and RGB images at any depth fit (16-bit/float ones are percentile-stretched to 8 bits);
  images with 2 or 4+ channels are refused, never cut down to three.
* ``"native"``: the model sees every channel at native depth (``LoadedImage.data``): ``count``
  channels of dtype family ``dtype`` (``uint8``, ``uint16``, ``int16``, ``float``, ...), each with a
  name, a display colour and a normalisation: ``percentile`` (per image, ``low``/``high`` are
  percentiles; values outside them are kept) or ``range`` (fixed ``low``/``high`` in raw units for
  quantitative data, a window: values outside it are clipped to it). An image
  with another channel count or dtype family raises :class:`ChannelMismatchError` naming it.

``infer_channels(image)`` derives a description from an image; ``project_channels`` /
``set_project_channels`` / ``ensure_project_channels`` read and write it through ``project.config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from segstudio.core.classes import parse_color
from segstudio.core.errors import ChannelMismatchError, ImageLoadError, ProjectError

if TYPE_CHECKING:
    from segstudio.core.image_io import LoadedImage
    from segstudio.core.project import Project

CONFIG_KEY = "channels"
KINDS = ("rgb", "native")
NORMALIZATIONS = ("percentile", "range")
#: per-image percentiles the model's input is scaled between by default (CSBDeep's convention)
DEFAULT_PERCENTILES = (1.0, 99.8)
#: ImageJ's default channel colours: red, green, blue, gray, cyan, magenta, yellow
DEFAULT_COLORS = ("#ff0000", "#00ff00", "#0000ff", "#ffffff", "#00ffff", "#ff00ff", "#ffff00")
#: percentiles are taken over a strided sample of about this many pixels
PERCENTILE_SAMPLE = 1_000_000
RGB_HINT = ("describe the project's channels (segstudio.core.channels.set_project_channels, "
            "or open the folder in the app) so that every channel is used")


def dtype_family(dtype: np.dtype | str) -> str:
    """``uint8``, ``uint16``, ``int8``, ``int16``, ``int32``, ``uint32``, ``int64``, ``uint64`` or ``float``."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return "uint8"
    if dt.kind == "f":
        return "float"
    if dt.kind in "iu":
        return dt.name
    raise ValueError(f"unsupported pixel type {dt}")


def default_color(index: int, count: int) -> str:
    """Display colour of channel ``index`` of ``count`` (one channel: gray)."""
    return "#ffffff" if count == 1 else DEFAULT_COLORS[index % len(DEFAULT_COLORS)]


@dataclass
class ChannelInfo:
    """One channel: name, display colour and how the model's input is scaled."""

    name: str
    color: str = "#ffffff"
    normalization: str = "percentile"  # "percentile" (per image) | "range" (fixed, raw units)
    low: float = DEFAULT_PERCENTILES[0]
    high: float = DEFAULT_PERCENTILES[1]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "color": self.color, "normalization": self.normalization,
                "low": float(self.low), "high": float(self.high)}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> "ChannelInfo":
        if not isinstance(raw, dict) or not isinstance(raw.get("name", ""), str):
            raise ProjectError(f"{where}: each channel must be an object with a 'name'")
        info = cls(str(raw.get("name") or ""), str(raw.get("color", "#ffffff")),
                   str(raw.get("normalization", "percentile")),
                   _number(raw.get("low", DEFAULT_PERCENTILES[0]), where, "low"),
                   _number(raw.get("high", DEFAULT_PERCENTILES[1]), where, "high"))
        info.validate(where)
        return info

    def validate(self, where: str) -> None:
        try:
            parse_color(self.color)
        except ValueError as exc:
            raise ProjectError(f"{where}: channel {self.name!r}: {exc}") from None
        if self.normalization not in NORMALIZATIONS:
            raise ProjectError(f"{where}: channel {self.name!r}: normalization must be one of "
                               f"{', '.join(NORMALIZATIONS)}, not {self.normalization!r}")
        if not self.high > self.low:
            raise ProjectError(f"{where}: channel {self.name!r}: high ({self.high}) must be above low ({self.low})")
        if self.normalization == "percentile" and not (0.0 <= self.low and self.high <= 100.0):
            raise ProjectError(f"{where}: channel {self.name!r}: percentiles must lie in 0..100")


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ProjectError(f"{where}: channel {name} must be a finite number, not {value!r}")
    return float(value)


@dataclass
class ChannelSpec:
    """A project's (or a model's) channels; see the module docstring."""

    kind: str = "rgb"
    channels: list[ChannelInfo] = field(default_factory=list)
    dtype: str = "uint8"

    @classmethod
    def rgb(cls) -> "ChannelSpec":
        """The RGB description (what an absent ``"channels"`` key means)."""
        return cls("rgb", [ChannelInfo(n, c, "range", 0.0, 255.0) for n, c in
                           (("red", "#ff0000"), ("green", "#00ff00"), ("blue", "#0000ff"))], "uint8")

    @classmethod
    def native(cls, count: int, dtype: str | np.dtype, names: list[str] | tuple[str, ...] | None = None,
               colors: list[str] | tuple[str, ...] | None = None) -> "ChannelSpec":
        """``count`` native channels of ``dtype``'s family with per-image percentile normalisation."""
        fam = dtype if dtype in ("float",) else dtype_family(dtype)
        names = list(names) if names and len(names) == count else [f"C{i + 1}" for i in range(count)]
        colors = list(colors) if colors and len(colors) == count else [default_color(i, count) for i in range(count)]
        return cls("native", [ChannelInfo(n, c) for n, c in zip(names, colors)], fam)

    @property
    def is_rgb(self) -> bool:
        return self.kind == "rgb"

    @property
    def count(self) -> int:
        """Channels the model takes (3 for RGB)."""
        return 3 if self.is_rgb else len(self.channels)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def colors(self) -> list[str]:
        return [c.color for c in self.channels]

    def describe(self) -> str:
        """One phrase, e.g. ``4 channels (uint16: DAPI, GFP, RFP, Cy5)`` or ``RGB (3 channels, 8-bit)``."""
        if self.is_rgb:
            return "RGB (3 channels, 8-bit)"
        return f"{self.count} channel{'s' if self.count != 1 else ''} ({self.dtype}: {', '.join(self.names)})"

    def with_channel(self, index: int, **changes: Any) -> "ChannelSpec":
        """A copy with channel ``index`` changed (name, color, normalization, low, high)."""
        chans = list(self.channels)
        chans[index] = replace(chans[index], **changes)
        spec = ChannelSpec(self.kind, chans, self.dtype)
        spec.validate("channel description")
        return spec

    def same_input(self, other: "ChannelSpec") -> bool:
        """True when a model trained on ``other`` sees images exactly as under this one (names and colours aside)."""
        def key(spec: "ChannelSpec") -> tuple:
            return (spec.kind, spec.count, spec.dtype,
                    None if spec.is_rgb else [(c.normalization, c.low, c.high) for c in spec.channels])
        return key(self) == key(other)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "count": self.count, "dtype": self.dtype}
        if not self.is_rgb:
            out["channels"] = [c.to_json() for c in self.channels]
        return out

    @classmethod
    def from_json(cls, raw: Any, where: str = "channel description") -> "ChannelSpec":
        """Parse (and validate) a stored description; ProjectError naming ``where`` when it is invalid."""
        if raw is None:
            return cls.rgb()
        if not isinstance(raw, dict):
            raise ProjectError(f"{where}: 'channels' must be an object")
        kind = raw.get("kind", "native")
        if kind not in KINDS:
            raise ProjectError(f"{where}: channels kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "rgb":
            return cls.rgb()
        items = raw.get("channels")
        if not isinstance(items, list) or not items:
            raise ProjectError(f"{where}: 'channels' needs a non-empty 'channels' list")
        if len(items) > 64:
            raise ProjectError(f"{where}: at most 64 channels (got {len(items)})")
        dtype = raw.get("dtype", "uint16")
        try:
            fam = dtype if dtype == "float" else dtype_family(str(dtype))
        except (TypeError, ValueError):
            raise ProjectError(f"{where}: unknown channel dtype {dtype!r}") from None
        if "count" in raw and raw["count"] != len(items):
            raise ProjectError(f"{where}: count {raw['count']!r} differs from the {len(items)} channels listed")
        spec = cls("native", [ChannelInfo.from_json(c, where) for c in items], fam)
        spec.validate(where)
        return spec

    def validate(self, where: str) -> None:
        for c in self.channels:
            c.validate(where)
        names = self.names
        if len(set(names)) != len(names) or not all(names):
            raise ProjectError(f"{where}: channel names must be unique and not empty ({names})")

    # ------------------------------------------------------------------ images
    def image_description(self, image: "LoadedImage") -> str:
        c, fam = image.channels, dtype_family(image.dtype)
        return f"{c} channel{'s' if c != 1 else ''} ({fam})"

    def check(self, image: "LoadedImage", what: str = "the project") -> None:
        """Raise :class:`ChannelMismatchError` naming the image when it does not fit this description."""
        found = self.image_description(image)
        if self.is_rgb:
            if image.channels not in (1, 3):
                raise ChannelMismatchError(image.path, found, f"{what} is {self.describe()}", RGB_HINT)
            return
        if image.channels != self.count or dtype_family(image.dtype) != self.dtype:
            raise ChannelMismatchError(image.path, found, f"{what} expects {self.describe()}")

    def model_array(self, image: "LoadedImage", what: str = "the project") -> np.ndarray:
        """What the model sees of ``image``: (H, W, 3) uint8 ``rgb`` or (H, W, C) native ``data`` (checked)."""
        self.check(image, what)
        return image.rgb if self.is_rgb else image.data

    def unit_bounds(self) -> np.ndarray:
        """(2, C) bounds of the unit-scaled input ``(v - low) / (high - low)``: [0, 1] for ``range``
        channels (a window), unbounded for ``percentile`` ones."""
        if self.is_rgb:
            return np.array([[-np.inf] * 3, [np.inf] * 3])
        clip = [c.normalization == "range" for c in self.channels]
        return np.array([[0.0 if k else -np.inf for k in clip], [1.0 if k else np.inf for k in clip]])

    def input_range(self, data: np.ndarray) -> np.ndarray:
        """(2, C) float64 [low, high] per channel in raw units that the model's input is scaled between.

        ``percentile`` channels: this image's percentiles (over a strided sample; where they coincide,
        the channel's min..max, else low..low+1). ``range`` channels: the fixed values.
        """
        if self.is_rgb:
            return np.array([[0.0] * 3, [255.0] * 3])
        out = np.zeros((2, self.count), np.float64)
        for i, ch in enumerate(self.channels):
            if ch.normalization == "range":
                out[:, i] = (ch.low, ch.high)
            else:
                out[:, i] = robust_range(data[:, :, i], ch.low, ch.high)
        return out


def sample_plane(plane: np.ndarray, limit: int = PERCENTILE_SAMPLE) -> np.ndarray:
    """A strided sample of about ``limit`` finite values of a 2-D plane (flattened, float64 for floats)."""
    step = max(1, int(np.ceil(np.sqrt(plane.size / float(limit)))))
    sample = plane[::step, ::step].ravel()
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    return sample


def robust_range(plane: np.ndarray, low_pct: float, high_pct: float) -> tuple[float, float]:
    """(low, high) percentiles of a plane; min..max where they coincide; never high <= low."""
    sample = sample_plane(plane)
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(sample, [low_pct, high_pct]))
    if hi <= lo:
        hi = float(sample.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def infer_channels(image: "LoadedImage") -> ChannelSpec:
    """The description an image suggests: RGB for 8-bit gray/RGB, else every channel at native depth.

    Names come from OME-XML and colours from ImageJ LUTs when the file has them.
    """
    fam = dtype_family(image.dtype)
    if fam == "uint8" and image.channels in (1, 3):
        return ChannelSpec.rgb()
    return ChannelSpec.native(image.channels, fam, image.channel_names, image.channel_colors)


# ---------------------------------------------------------------------- projects
def project_channels(project: "Project") -> ChannelSpec:
    """The project's stored description (RGB when segstudio.json has none)."""
    return ChannelSpec.from_json(project.config.get(CONFIG_KEY), str(project.config_path))


def set_project_channels(project: "Project", spec: ChannelSpec, save: bool = True) -> None:
    """Store ``spec`` in the project's config (and write segstudio.json when ``save``)."""
    spec.validate(str(project.config_path))
    project.config[CONFIG_KEY] = spec.to_json()
    if save:
        project.save()


def ensure_project_channels(project: "Project", save: bool = False) -> ChannelSpec:
    """The description to use when a folder is opened or trained on.

    Stored: that one. Not stored: inferred from the first readable image when the folder has no
    segstudio.json yet, or when its first image cannot be an RGB image (2 or 4+ channels); an
    existing segstudio.json otherwise means RGB (old projects train exactly as before). An inferred
    description is put into ``project.config`` (written only with ``save``).
    """
    if project.config.get(CONFIG_KEY) is not None:
        spec = project_channels(project)
        if save and not project.config_path.exists():
            project.save()
        return spec
    from segstudio.core.image_io import load_image

    first = None
    for path in project.list_images()[:5]:
        try:
            first = load_image(path, max_pixels=None)
            break
        except ImageLoadError:
            continue
    if first is None:
        return ChannelSpec.rgb()
    inferred = infer_channels(first)
    if project.config_path.exists() and first.channels in (1, 3):
        return ChannelSpec.rgb()
    if not inferred.is_rgb:
        set_project_channels(project, inferred, save=save)
    return inferred
