#!/usr/bin/env python3
"""Set-up and run commands that need nothing but Python 3.11+.

    python3 dev.py run [ARGS]    install into .venv (first time) and start the app (demo project)
    python3 dev.py test [ARGS]   install into .venv (first time) and run the whole test suite

The virtual environment is (re)installed whenever pyproject.toml or constraints.txt changes, with the
tested versions of constraints.txt. Before the app starts on Linux, the system libraries Qt's xcb
platform plugin needs are checked; when some are missing, the one command that installs them is printed.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Callable, Mapping

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".segstudio-installed"
CONSTRAINTS = ROOT / "constraints.txt"
#: exit status of ``dev.py run`` when system libraries are missing / when there is no display
EXIT_MISSING_LIBRARIES = 3
EXIT_NO_DISPLAY = 4

#: Shared libraries Qt's xcb platform plugin (libqxcb.so and libQt6XcbQpa) loads, and the Debian/Ubuntu
#: package that provides each. A bare Debian/Ubuntu lacks most of the xcb-util ones.
XCB_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
#: QT_QPA_PLATFORM values that do not load the xcb plugin
_NON_XCB_PLATFORMS = ("offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "wayland", "vkkhrdisplay")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install_stamp() -> str:
    """Hash of what decides the installation: pyproject.toml and constraints.txt."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    if CONSTRAINTS.is_file():
        digest.update(b"\0" + CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def pip_install_command(py: Path) -> list[str]:
    """pip installing segstudio with its test extra, pinned to the tested versions."""
    cmd = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if CONSTRAINTS.is_file():
        cmd += ["-c", str(CONSTRAINTS)]
    return cmd + ["-e", f"{ROOT}[test]"]


def ensure_installed() -> Path:
    """Create .venv and install segstudio with its test extra, unless already up to date."""
    if sys.version_info < (3, 11):
        sys.exit(f"segstudio needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = install_stamp()
    py = venv_python()
    if py.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return py
    if not py.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing segstudio and its dependencies (first time: a few minutes) ...", flush=True)
    subprocess.run(pip_install_command(py), check=True)
    STAMP.write_text(wanted + "\n")
    return py


# ------------------------------------------------------------------------------------ system libraries
def xcb_check_applies(env: Mapping[str, str], platform: str) -> bool:
    """True when the app would start Qt with the xcb plugin: Linux, no other platform chosen."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if chosen:
        return chosen == "xcb"
    return not env.get("WAYLAND_DISPLAY")  # Qt picks its wayland plugin in a Wayland session


def qxcb_plugin(py: Path, run: Callable = subprocess.run) -> Path | None:
    """The installed PySide6's libqxcb.so, or None."""
    code = "import os, PySide6; print(os.path.dirname(PySide6.__file__))"
    try:
        out = run([str(py), "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    plugin = Path(out.stdout.strip().splitlines()[-1]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(py: Path, run: Callable = subprocess.run, which: Callable = shutil.which,
                      find_library: Callable = ctypes.util.find_library) -> list[str]:
    """Shared libraries the xcb plugin needs that this system lacks: the 'not found' lines of ``ldd``
    on the installed plugin, or (without ldd or the plugin) the libraries of :data:`XCB_PACKAGES` that
    ``find_library`` cannot find."""
    plugin = qxcb_plugin(py, run)
    ldd = which("ldd")
    if plugin is not None and ldd:
        try:
            out = run([ldd, str(plugin)], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None:
            return sorted(set(_NOT_FOUND.findall(out.stdout + out.stderr)))
    missing = []
    for soname in XCB_PACKAGES:
        name = soname[3:].split(".so")[0]  # libxcb-cursor.so.0 -> xcb-cursor
        if find_library(name) is None:
            missing.append(soname)
    return missing


def install_hint(missing: list[str], is_root: bool) -> str:
    """The message for missing libraries, ending in the one command that installs them."""
    packages = sorted({XCB_PACKAGES[s] for s in missing if s in XCB_PACKAGES})
    unknown = [s for s in missing if s not in XCB_PACKAGES]
    lines = [f"dev.py: Qt's xcb platform plugin cannot start: this system lacks {', '.join(missing)}."]
    if unknown:
        lines.append(f"  (no known package for {', '.join(unknown)}: `apt-file search {unknown[0]}` finds it)")
    if packages:
        lines.append("Install them with:")
        lines.append(f"    {'' if is_root else 'sudo '}apt-get install -y {' '.join(packages)}")
    return "\n".join(lines)


def check_system_libraries(py: Path, env: Mapping[str, str] | None = None, platform: str | None = None) -> int:
    """0 when the app can start; else print what is missing (:func:`install_hint` for libraries) and
    return EXIT_MISSING_LIBRARIES, or EXIT_NO_DISPLAY when there is no X display to open a window on."""
    env = os.environ if env is None else env
    if not xcb_check_applies(env, sys.platform if platform is None else platform):
        return 0
    missing = missing_libraries(py)
    if missing:
        print(install_hint(missing, hasattr(os, "geteuid") and os.geteuid() == 0), file=sys.stderr)
        return EXIT_MISSING_LIBRARIES
    if not env.get("DISPLAY"):  # Qt would fail with "could not connect to display" and a misleading hint
        print("dev.py: no display to open the window on (DISPLAY is not set): start it from a desktop session, "
              "or over ssh with -X", file=sys.stderr)
        return EXIT_NO_DISPLAY
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    py = ensure_installed()
    if argv[0] == "test":
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        return subprocess.call([str(py), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)
    status = check_system_libraries(py)
    if status:
        return status
    return subprocess.call([str(py), "-m", "segstudio", *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
