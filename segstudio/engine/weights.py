"""Pretrained backbone weights: which models can use which files, the weights folder, and checksums.

Importing this module loads no torch; :func:`registry` (and what calls it) imports torchvision the
first time, because the entries come from torchvision's weights API (URL and ``meta``). Each entry is
the official ImageNet backbone that torchvision's segmentation builder itself uses for a segstudio
model. The checksum is the one torchvision publishes: the sha256 prefix in the file name
(``resnet50-0676ba61.pth``), the same one ``torch.hub`` checks.

The weights folder is ``$SEGSTUDIO_WEIGHTS_DIR`` or, by default, ``user_data_dir()/weights``. Training
uses only verified files in that folder; the torch hub cache is not consulted (a file from it can be
brought in with :func:`segstudio.engine.weights_store.import_file`). Nothing here downloads anything:
that is :func:`segstudio.engine.weights_store.download`, called only on the user's request.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from segstudio.core.errors import SegstudioError
from segstudio.core.paths import user_data_dir

WEIGHTS_DIR_ENV = "SEGSTUDIO_WEIGHTS_DIR"
#: torch.hub's rule for the checksum in a file name: ``name-<sha256 prefix>.ext``
HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightsEntry:
    """One downloadable weights file.

    ``sha256`` is the published checksum: a prefix of the file's sha256 hex digest (torchvision's file
    names carry 8 hex digits) or the whole digest. ``size_bytes`` is torchvision's published size
    (``meta['_file_size']``, MiB with three decimals, so exact to about a kilobyte).
    """

    name: str  # torchvision's spelling, e.g. "ResNet50_Weights.IMAGENET1K_V1"
    file_name: str  # e.g. "resnet50-0676ba61.pth"
    url: str
    sha256: str
    size_bytes: int
    models: tuple[str, ...]  # the segstudio models whose backbone it initialises
    description: str = ""

    def matches(self, sha256_hex: str) -> bool:
        """Whether a file with this sha256 hex digest is this entry's file."""
        return len(self.sha256) >= 8 and sha256_hex.lower().startswith(self.sha256.lower())

    def to_json(self) -> dict:
        return {"name": self.name, "file_name": self.file_name, "url": self.url, "sha256": self.sha256,
                "size_bytes": self.size_bytes, "models": list(self.models), "description": self.description}


@dataclass(frozen=True)
class ModelWeights:
    """What one segstudio model can start from: its weights entry (None: trains from scratch only)."""

    model: str
    entry: WeightsEntry | None
    path: Path | None  # where the file is, or would be, in the weights folder
    present: bool


# ---------------------------------------------------------------------------------- registry
def entry_from_torchvision(spelling: str, models: tuple[str, ...] = ()) -> WeightsEntry:
    """The entry of a torchvision weights enum member, e.g. ``"ResNet50_Weights.IMAGENET1K_V1"``."""
    from torchvision import models as tvm

    enum_name, _, member = spelling.partition(".")
    try:
        weights = getattr(getattr(tvm, enum_name), member)
    except AttributeError:
        raise SegstudioError(f"torchvision has no weights {spelling!r}") from None
    file_name = os.path.basename(urlparse(weights.url).path)
    found = HASH_IN_NAME.search(file_name)
    if found is None:
        raise SegstudioError(f"torchvision publishes no checksum for {spelling} ({file_name})")
    size = int(round(float(weights.meta.get("_file_size", 0.0)) * 2**20))
    top1 = (weights.meta.get("_metrics") or {}).get("ImageNet-1K", {}).get("acc@1")
    desc = f"{enum_name.removesuffix('_Weights')} ImageNet-1K backbone" + (f" (top-1 {top1}%)" if top1 else "")
    return WeightsEntry(spelling, file_name, weights.url, found.group(1), size, tuple(models), desc)


@functools.lru_cache(maxsize=1)
def _official_registry() -> tuple[WeightsEntry, ...]:
    from segstudio.engine.models import available_models, backbone_weights_name

    users: dict[str, list[str]] = {}
    for model in available_models():
        spelling = backbone_weights_name(model)
        if spelling:
            users.setdefault(spelling, []).append(model)
    return tuple(entry_from_torchvision(s, tuple(m)) for s, m in users.items())


def registry() -> list[WeightsEntry]:
    """Every known weights file (imports torchvision the first time)."""
    return list(_official_registry())


def entry_for_model(model: str) -> WeightsEntry | None:
    """The weights a segstudio model's backbone can start from, or None (unet, segnet)."""
    return next((e for e in registry() if model in e.models), None)


def find_entry(name: str) -> WeightsEntry:
    """An entry by weights name (``ResNet50_Weights.IMAGENET1K_V1``, any case), file name or model name."""
    key = name.strip()
    entries = registry()
    for e in entries:
        if key.lower() in (e.name.lower(), e.file_name.lower()) or key in e.models:
            return e
    from segstudio.engine.models import available_models

    if key in available_models():
        raise SegstudioError(f"model {key!r} has no pretrained weights (it trains from scratch); models with "
                             f"weights: {', '.join(m for e in entries for m in e.models)}")
    known = [e.name for e in entries] + [m for e in entries for m in e.models]
    raise SegstudioError(f"unknown weights {name!r}; valid: {', '.join(known)}")


def model_weights() -> list[ModelWeights]:
    """For every segstudio model: its weights entry, where the file goes and whether it is present."""
    from segstudio.engine.models import available_models

    out = []
    for model in available_models():
        entry = entry_for_model(model)
        path = weights_path(entry) if entry else None
        out.append(ModelWeights(model, entry, path, bool(path and path.is_file())))
    return out


# ---------------------------------------------------------------------------------- the folder
def default_weights_dir() -> Path:
    """``user_data_dir()/weights``: where weights go unless ``SEGSTUDIO_WEIGHTS_DIR`` says otherwise."""
    return user_data_dir() / "weights"


def weights_dir() -> Path:
    """The weights folder: ``$SEGSTUDIO_WEIGHTS_DIR`` if set, else :func:`default_weights_dir`."""
    override = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(override).expanduser() if override else default_weights_dir()


def set_weights_dir(path: str | Path | None) -> None:
    """Use ``path`` as the weights folder in this process and the processes it starts (torchrun);
    None goes back to the default. Sets or removes ``SEGSTUDIO_WEIGHTS_DIR``."""
    if path is None or str(path) == "":
        os.environ.pop(WEIGHTS_DIR_ENV, None)
    else:
        os.environ[WEIGHTS_DIR_ENV] = str(Path(path).expanduser())


def weights_path(entry: WeightsEntry, folder: Path | None = None) -> Path:
    """Where ``entry``'s file is (or goes) in the weights folder."""
    return (folder or weights_dir()) / entry.file_name


# ---------------------------------------------------------------------------------- checksums
def file_sha256(path: str | Path) -> str:
    """The sha256 hex digest of a file (read in 1 MiB chunks)."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for files checked before


def verified_file(entry: WeightsEntry, folder: Path | None = None) -> Path | None:
    """``entry``'s file in the weights folder, checked against its checksum; None when it is absent.

    A file that is present but does not match raises SegstudioError naming it (rather than training
    silently from scratch).
    """
    path = weights_path(entry, folder)
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime_ns)
    sha = _verified.get(key)
    if sha is None:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            raise SegstudioError(f"cannot read pretrained weights {path}: {exc.strerror or exc}") from None
    if not entry.matches(sha):
        raise SegstudioError(f"pretrained weights {path} are damaged or not {entry.name} (sha256 {sha[:12]}..., "
                             f"expected {entry.sha256}...); download or import them again, or train with "
                             f"--no-pretrained")
    _verified[key] = sha
    return path


def present_weights_file(spelling: str) -> Path | None:
    """The verified file of torchvision weights ``spelling`` in the weights folder, or None.

    Used by the model builders; ``SEGSTUDIO_NO_PRETRAINED`` (any value) makes it always None.
    """
    if os.environ.get("SEGSTUDIO_NO_PRETRAINED"):
        return None
    entry = next((e for e in registry() if e.name == spelling), None)
    if entry is None:
        entry = entry_from_torchvision(spelling)
    return verified_file(entry)
