"""Persistent user settings (QSettings, INI format): window layout, recent projects, tool settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "segstudio"
APPLICATION = "segstudio"
MAX_RECENT = 10


def app_settings() -> QSettings:
    """The app's settings store (INI file in the user's config folder; tests redirect it)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def recent_projects() -> list[str]:
    """Recent project folders, newest first."""
    return _as_list(app_settings().value("recent/projects"))


def add_recent_project(path: str | Path) -> list[str]:
    """Put ``path`` at the top of the recent list (deduplicated, at most MAX_RECENT)."""
    text = str(Path(path).resolve())
    items = [p for p in recent_projects() if p != text]
    items.insert(0, text)
    items = items[:MAX_RECENT]
    s = app_settings()
    s.setValue("recent/projects", items)
    s.sync()
    return items


def remove_recent_project(path: str | Path) -> None:
    text = str(Path(path).resolve())
    s = app_settings()
    s.setValue("recent/projects", [p for p in recent_projects() if p != text])
    s.sync()


def last_project() -> str | None:
    """The most recently opened project folder that still exists."""
    for p in recent_projects():
        if Path(p).is_dir():
            return p
    return None


def read_value(key: str, default, kind=None):
    """A typed value from the settings (``kind`` converts; bad values give ``default``)."""
    value = app_settings().value(key, default)
    if kind is None or value is None:
        return value
    try:
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return kind(value)
    except (TypeError, ValueError):
        return default


def write_values(values: dict) -> None:
    """Store several keys at once."""
    s = app_settings()
    for key, value in values.items():
        s.setValue(key, value)
    s.sync()


WEIGHTS_FOLDER_KEY = "weights/folder"


def apply_weights_folder() -> None:
    """Use the weights folder chosen in the app (unless ``SEGSTUDIO_WEIGHTS_DIR`` is set in the environment)."""
    import os

    from segstudio.engine.weights import WEIGHTS_DIR_ENV, set_weights_dir

    chosen = read_value(WEIGHTS_FOLDER_KEY, "", str)
    if chosen and not os.environ.get(WEIGHTS_DIR_ENV):
        set_weights_dir(chosen)


def set_weights_folder(path: str | Path | None) -> None:
    """Remember and use ``path`` as the weights folder (None: the default under the user data folder)."""
    from segstudio.engine.weights import set_weights_dir

    write_values({WEIGHTS_FOLDER_KEY: str(path) if path else ""})
    set_weights_dir(path)
