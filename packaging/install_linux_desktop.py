"""Install segstudio's Linux desktop integration: menu entry, AppStream metainfo and icons.

    python packaging/install_linux_desktop.py                      # into ~/.local/share, Exec=segstudio
    python packaging/install_linux_desktop.py --exec "$PWD/dist/segstudio/segstudio"   # the PyInstaller app
    python packaging/install_linux_desktop.py --prefix /usr/local  # system-wide (as root)

Writes ``PREFIX/share/applications/<id>.desktop``, ``PREFIX/share/metainfo/<id>.metainfo.xml`` and
``PREFIX/share/icons/hicolor/{NxN,scalable}/apps/<id>.{png,svg}``; ``--uninstall`` removes them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from segstudio.resources import APP_ID, ICON_SIZES, desktop_file_path, icon_path, metainfo_path  # noqa: E402


def default_prefix() -> Path:
    """``$XDG_DATA_HOME``'s parent convention: ~/.local (so files go to ~/.local/share)."""
    data_home = os.environ.get("XDG_DATA_HOME")
    return Path(data_home).parent if data_home else Path.home() / ".local"


def planned_files(prefix: Path) -> dict[Path, Path]:
    """Destination -> source for everything that gets installed under ``prefix``."""
    share = prefix / "share"
    files = {
        share / "applications" / f"{APP_ID}.desktop": desktop_file_path(),
        share / "metainfo" / f"{APP_ID}.metainfo.xml": metainfo_path(),
        share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": icon_path(),
    }
    for size in ICON_SIZES:
        files[share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = icon_path(size)
    return files


_RESERVED = set(" \t\n'<>~|&;*?#()")


def exec_quote(path: str) -> str:
    """``path`` as one argument of a .desktop ``Exec`` key (quoted per the Desktop Entry spec)."""
    if any(ch in path for ch in '"`$\\'):
        raise SystemExit(f"install_linux_desktop: cannot use {path!r} in a .desktop file; move the app elsewhere")
    path = path.replace("%", "%%")
    return f'"{path}"' if any(ch in _RESERVED for ch in path) else path


def desktop_text(executable: str | None) -> str:
    """The .desktop entry, with Exec/TryExec pointing at ``executable`` when given."""
    lines = desktop_file_path().read_text(encoding="utf-8").splitlines()
    if executable:
        quoted = exec_quote(executable)
        lines = [f"Exec={quoted} %f" if ln.startswith("Exec=") else
                 f"TryExec={executable}" if ln.startswith("TryExec=") else ln for ln in lines]
    return "\n".join(lines) + "\n"


def install(prefix: Path, executable: str | None = None) -> list[Path]:
    """Copy the files; returns the installed paths."""
    written = []
    for dest, src in planned_files(prefix).items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.suffix == ".desktop":
            dest.write_text(desktop_text(executable), encoding="utf-8")
        else:
            shutil.copyfile(src, dest)
        written.append(dest)
    _refresh_caches(prefix)
    return written


def uninstall(prefix: Path) -> list[Path]:
    """Remove what :func:`install` wrote; returns the removed paths."""
    removed = []
    for dest in planned_files(prefix):
        if dest.exists():
            dest.unlink()
            removed.append(dest)
    _refresh_caches(prefix)
    return removed


def _refresh_caches(prefix: Path) -> None:
    """Best effort: let menus and icon themes notice the change (tools may be missing)."""
    share = prefix / "share"
    for cmd in (["update-desktop-database", str(share / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", "-f", str(share / "icons" / "hicolor")]):
        if shutil.which(cmd[0]) and Path(cmd[-1]).is_dir():
            subprocess.run(cmd, check=False, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install segstudio's desktop entry, metainfo and icons.")
    parser.add_argument("--prefix", type=Path, default=default_prefix(), help="install prefix (default: ~/.local)")
    parser.add_argument("--exec", dest="executable", help="program the menu entry starts (default: segstudio on PATH)")
    parser.add_argument("--uninstall", action="store_true", help="remove the installed files")
    args = parser.parse_args(argv)
    if args.uninstall:
        paths = uninstall(args.prefix)
        verb = "removed"
    else:
        paths = install(args.prefix, args.executable)
        verb = "installed"
    for path in paths:
        print(f"{verb} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
