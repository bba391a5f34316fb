"""Locate the app's resource files (icons, .desktop file, AppStream metainfo). No Qt, no torch.

The files live in the top-level ``resources/`` folder of the source checkout. A wheel ships them
as ``segstudio/resources_data/`` (copied by setup.py's ``build_py``) and the PyInstaller app as
``<bundle>/segstudio/resources_data/`` (see packaging/segstudio.spec); :func:`resources_dir`
looks in all three places.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: Reverse-DNS application id: .desktop file name, AppStream id, icon name, Qt desktop file name.
APP_ID = "io.github.segstudio.SegStudio"
APP_NAME = "segstudio"
#: Sizes of the PNG icons in resources/icons/ (segstudio-<N>.png).
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

_MARKER = Path("icons") / "segstudio.svg"


def candidate_dirs() -> list[Path]:
    """Where resources are looked for, in order: frozen bundle, installed wheel, source checkout."""
    package_dir = Path(__file__).resolve().parent
    candidates: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "segstudio" / "resources_data")
    candidates.append(package_dir / "resources_data")
    candidates.append(package_dir.parent / "resources")
    return candidates


def resources_dir() -> Path:
    """The folder holding ``icons/``, the .desktop file and the metainfo; FileNotFoundError if none."""
    for folder in candidate_dirs():
        if (folder / _MARKER).is_file():
            return folder
    searched = ", ".join(str(p) for p in candidate_dirs())
    raise FileNotFoundError(f"segstudio resources not found (searched {searched})")


def resource_path(*parts: str) -> Path:
    """Path of a resource file, e.g. ``resource_path("icons", "segstudio.svg")``."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"segstudio resource missing: {path}")
    return path


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG when ``size`` is None, else the smallest PNG at least ``size`` pixels."""
    if size is None:
        return resource_path("icons", "segstudio.svg")
    fitting = [s for s in ICON_SIZES if s >= size] or [ICON_SIZES[-1]]
    return resource_path("icons", f"segstudio-{fitting[0]}.png")


def icon_paths() -> list[Path]:
    """All PNG icon sizes, smallest first (for building a multi-size window icon)."""
    return [resource_path("icons", f"segstudio-{s}.png") for s in ICON_SIZES]


def desktop_file_path() -> Path:
    """The freedesktop .desktop entry."""
    return resource_path(f"{APP_ID}.desktop")


def metainfo_path() -> Path:
    """The AppStream metainfo file."""
    return resource_path(f"{APP_ID}.metainfo.xml")
