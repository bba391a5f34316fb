"""Packaging and desktop integration: .desktop, AppStream metainfo, icons, resources, wheel, spec."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from segstudio import __version__, resources
from segstudio.resources import APP_ID, ICON_SIZES

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "resources"
PACKAGING = ROOT / "packaging"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(resources.desktop_file_path(), encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_has_required_keys_and_validates():
    path = resources.desktop_file_path()
    assert path.name == f"{APP_ID}.desktop"
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "segstudio"
    assert entry["Exec"].split()[0] == "segstudio" and entry["Exec"].split()[1] in ("%f", "%F", "%u", "%U")
    assert entry["Icon"] == APP_ID  # icon by name, installed as hicolor/*/apps/<APP_ID>.png|svg
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Science" in entry["Categories"].split(";")
    assert entry["Comment"] and entry["Keywords"].endswith(";")
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout + proc.stderr


def test_metainfo_has_required_tags_and_validates():
    path = resources.metainfo_path()
    root = ET.parse(path).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("name") == "segstudio"
    summary = root.findtext("summary")
    assert summary and len(summary) < 80 and not summary.endswith(".")
    assert len(root.find("description")) >= 1  # at least one <p>
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == f"{APP_ID}.desktop"
    assert root.find("content_rating") is not None
    release = root.find("releases/release")
    assert release.get("version") == __version__ and re.fullmatch(r"\d{4}-\d\d-\d\d", release.get("date"))
    assert root.findtext("provides/binary") == "segstudio"
    appstream = shutil.which("appstreamcli")
    if appstream:
        proc = subprocess.run([appstream, "validate", "--no-net", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_svg_icon_is_square_svg():
    svg = resources.icon_path()
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0, 0) and w == h == 256


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icons_have_their_size_and_a_transparent_corner(size):
    path = resources.icon_path(size)
    assert path.name == f"segstudio-{size}.png"
    with Image.open(path) as im:
        assert im.size == (size, size) and im.mode == "RGBA"
        assert im.getpixel((0, 0))[3] == 0  # rounded tile: corners stay transparent
        assert im.getpixel((size // 2, size // 2))[3] == 255


def test_ico_and_icns_hold_several_sizes():
    with Image.open(RES / "icons" / "segstudio.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(RES / "icons" / "segstudio.icns") as icns:
        sizes = {s[:2] for s in icns.info["sizes"]}
        assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= sizes


def test_icon_path_picks_the_smallest_sufficient_png():
    assert resources.icon_path(20).name == "segstudio-24.png"
    assert resources.icon_path(2000).name == "segstudio-512.png"
    assert [p.name for p in resources.icon_paths()] == [f"segstudio-{s}.png" for s in ICON_SIZES]


def test_resources_found_in_a_frozen_bundle_first(tmp_path, monkeypatch):
    bundle_res = tmp_path / "segstudio" / "resources_data"
    shutil.copytree(RES, bundle_res)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == bundle_res
    assert resources.desktop_file_path() == bundle_res / f"{APP_ID}.desktop"


def test_missing_resource_names_the_file():
    with pytest.raises(FileNotFoundError, match="no-such-icon.png"):
        resources.resource_path("icons", "no-such-icon.png")


def test_wheel_ships_resources_inside_the_package(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "segstudio", src / "segstudio", ignore=ignore)
    shutil.copytree(RES, src / "resources", ignore=ignore)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = next((tmp_path / "dist").glob("segstudio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("icons/segstudio.svg", "icons/segstudio-512.png", "icons/segstudio.ico", "icons/segstudio.icns",
                f"{APP_ID}.desktop", f"{APP_ID}.metainfo.xml"):
        assert f"segstudio/resources_data/{rel}" in names, rel
    assert "segstudio/resources.py" in names


def test_linux_desktop_install_puts_files_where_xdg_looks(tmp_path):
    exe = tmp_path / "my apps" / "segstudio"
    proc = subprocess.run([sys.executable, str(PACKAGING / "install_linux_desktop.py"), "--prefix", str(tmp_path),
                           "--exec", str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    share = tmp_path / "share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text(encoding="utf-8")
    assert f'Exec="{exe}" %f' in text and f"Icon={APP_ID}" in text
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    with Image.open(share / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png") as im:
        assert im.size == (48, 48)
    validator = shutil.which("desktop-file-validate")
    if validator:
        check = subprocess.run([validator, str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    proc = subprocess.run([sys.executable, str(PACKAGING / "install_linux_desktop.py"), "--prefix", str(tmp_path),
                           "--uninstall"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not desktop.exists()
    assert not list(share.rglob(f"{APP_ID}*"))


def test_spec_excludes_other_bindings_and_unused_qt():
    spec = (PACKAGING / "segstudio.spec").read_text(encoding="utf-8")
    compile(spec, "segstudio.spec", "exec")
    for name in ("PyQt5", "PyQt6", "PySide2", "tkinter"):
        assert f'"{name}"' in spec, name
    for module in ("QtWebEngineCore", "QtQml", "QtQuick", "Qt3DCore", "QtMultimedia"):
        assert f'"{module}"' in spec, module
    assert "cv2[/\\\\]qt" in spec  # OpenCV Qt plugins filtered out of the binaries
    assert "segstudio/resources_data" in spec and "segstudio_main.py" in spec


def test_frozen_entry_point_calls_freeze_support_first():
    entry = (PACKAGING / "segstudio_main.py").read_text(encoding="utf-8")
    main_block = entry.split('if __name__ == "__main__":', 1)[1]
    lines = [ln.strip() for ln in main_block.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert lines[0] == "multiprocessing.freeze_support()"


def test_frozen_entry_point_runs_python_style_module_invocations():
    """torchrun starts every rank as ``sys.executable -u -m segstudio ...``: the frozen app must accept it."""
    entry = str(PACKAGING / "segstudio_main.py")
    proc = subprocess.run([sys.executable, entry, "-u", "-m", "segstudio", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"segstudio {__version__}", proc.stderr
    refused = subprocess.run([sys.executable, entry, "-m", "os"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unrecognized arguments: -m" in refused.stderr


def test_no_dataloader_worker_processes_in_the_package():
    """The engine keeps its data cache on the device: nothing may start DataLoader workers."""
    offenders = []
    for path in (ROOT / "segstudio").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"num_workers\s*=\s*([^,)\n]+)", text):
            value = match.group(1).strip()
            if value != "0" and "frozen" not in text:
                offenders.append(f"{path.relative_to(ROOT)}: num_workers={value}")
    assert not offenders, offenders


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SEGSTUDIO_BUILD_BUNDLE") != "1",
                    reason="builds the 4.4 GiB PyInstaller app (~5 min on 2 cores); set SEGSTUDIO_BUILD_BUNDLE=1")
def test_pyinstaller_bundle_builds_and_passes_self_test(tmp_path):
    proc = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--self-test", "--smoke",
                           "--dist", str(tmp_path / "dist"), "--work", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=3600)
    print(proc.stdout[-3000:])  # bundle size, largest parts, self-test and smoke lines (shown with -s / -rA)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0 and result["self_test_status"] == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert result["self_test"].startswith("self-test ok:")
    assert result["smoke"] == {"train": 0, "predict": 0, "evaluate": 0, "export-model": 0, "torchrun": 0}
