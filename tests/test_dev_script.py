"""dev.py: a bare machine gets one install command for Qt's missing system libraries; installs use the tested pins."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dev():
    spec = importlib.util.spec_from_file_location("segstudio_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LDD_BARE_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2)
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
"""


def _fake_run(plugin_dir: Path, ldd_output: str):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        if cmd[1] == "-c":  # the venv's python locating PySide6
            return subprocess.CompletedProcess(cmd, 0, f"{plugin_dir}\n", "")
        return subprocess.CompletedProcess(cmd, 0, ldd_output, "")

    return run, calls


def test_missing_libraries_come_from_ldd_on_the_installed_plugin(dev, tmp_path):
    plugin = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"\x7fELF")
    run, calls = _fake_run(tmp_path / "PySide6", LDD_BARE_DEBIAN)
    missing = dev.missing_libraries(Path("/venv/bin/python"), run=run, which=lambda name: "/usr/bin/ldd",
                                    find_library=lambda name: pytest.fail("ldd answered; no guessing"))
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"]
    assert calls[-1] == ["/usr/bin/ldd", str(plugin)]
    assert dev.install_hint(missing, is_root=False) == (
        "dev.py: Qt's xcb platform plugin cannot start: this system lacks libxcb-cursor.so.0, libxcb-icccm.so.4, "
        "libxcb-keysyms.so.1, libxkbcommon-x11.so.0.\n"
        "Install them with:\n"
        "    sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0")
    assert dev.install_hint(missing, is_root=True).endswith(
        "\n    apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0")


def test_without_ldd_the_known_libraries_are_looked_up(dev, tmp_path):
    run, _ = _fake_run(tmp_path / "nowhere", "")
    present = {"xcb", "X11", "GL", "EGL", "fontconfig", "freetype", "dbus-1", "glib-2.0"}
    missing = dev.missing_libraries(Path("/venv/bin/python"), run=run, which=lambda name: None,
                                    find_library=lambda name: f"lib{name}.so" if name in present else None)
    assert "libxcb-cursor.so.0" in missing and "libxcb-icccm.so.4" in missing and "libxcb.so.1" not in missing
    assert dev.install_hint(["libxcb-cursor.so.0", "libodd.so.2"], is_root=True) == (
        "dev.py: Qt's xcb platform plugin cannot start: this system lacks libxcb-cursor.so.0, libodd.so.2.\n"
        "  (no known package for libodd.so.2: `apt-file search libodd.so.2` finds it)\n"
        "Install them with:\n"
        "    apt-get install -y libxcb-cursor0")


@pytest.mark.parametrize("env,platform,applies", [
    ({}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_the_check_runs_only_where_xcb_is_used(dev, env, platform, applies):
    assert dev.xcb_check_applies(env, platform) is applies


def test_run_stops_with_the_install_command_before_starting_the_app(dev, monkeypatch, capsys):
    monkeypatch.setattr(dev, "missing_libraries", lambda py: ["libxcb-cursor.so.0"])
    assert dev.check_system_libraries(Path("py"), env={}, platform="linux") == dev.EXIT_MISSING_LIBRARIES
    assert "apt-get install -y libxcb-cursor0" in capsys.readouterr().err
    assert dev.check_system_libraries(Path("py"), env={"QT_QPA_PLATFORM": "offscreen"}, platform="linux") == 0
    monkeypatch.setattr(dev, "missing_libraries", lambda py: [])
    assert dev.check_system_libraries(Path("py"), env={"DISPLAY": ":0"}, platform="linux") == 0
    assert dev.check_system_libraries(Path("py"), env={}, platform="linux") == dev.EXIT_NO_DISPLAY
    assert "DISPLAY is not set" in capsys.readouterr().err
    monkeypatch.setattr(dev, "missing_libraries", lambda py: ["libxcb-cursor.so.0"])
    started = []
    monkeypatch.setattr(dev, "ensure_installed", lambda: Path("py"))
    monkeypatch.setattr(dev.subprocess, "call", lambda *a, **k: started.append(a) or 0)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(dev.sys, "platform", "linux")
    assert dev.main(["run"]) == dev.EXIT_MISSING_LIBRARIES and not started


def test_install_uses_the_constraints_and_reinstalls_when_they_change(dev, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "CONSTRAINTS", tmp_path / "constraints.txt")
    without = dev.install_stamp()
    (tmp_path / "constraints.txt").write_text("numpy==2.0.0\n")
    pinned = dev.install_stamp()
    (tmp_path / "constraints.txt").write_text("numpy==2.0.1\n")
    assert len({without, pinned, dev.install_stamp()}) == 3
    cmd = dev.pip_install_command(Path("py"))
    assert cmd[cmd.index("-c") + 1] == str(tmp_path / "constraints.txt") and cmd[-2:] == ["-e", f"{tmp_path}[test]"]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[A-Za-z0-9._-]+", name), line
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_constraints_pin_every_dependency_exactly():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]).lower() for req in wanted}
    assert names <= set(_pins()), names - set(_pins())


def test_the_dev_environment_runs_the_pinned_versions():
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("not running in the .venv that dev.py installs")
    import importlib.metadata as md

    installed = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in md.distributions()}
    wrong = {name: (version, installed[name]) for name, version in _pins().items()
             if name in installed and installed[name] != version}
    assert not wrong
