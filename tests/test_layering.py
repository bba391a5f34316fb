"""ARCHITECTURE.md layering: Qt only in segstudio/gui, core without torch, engine/CLI without Qt."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "segstudio"
QT_MODULES = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "shiboken6")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_qt_only_imported_inside_gui():
    offenders = [
        str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
        if "gui" not in p.relative_to(PACKAGE).parts and _imports(p) & set(QT_MODULES)
    ]
    assert offenders == []


def test_core_never_imports_torch_statically():
    offenders = [str(p.relative_to(ROOT)) for p in (PACKAGE / "core").rglob("*.py")
                 if _imports(p) & {"torch", "torchvision"}]
    assert offenders == []


def _loaded_after(import_stmt: str, block: tuple[str, ...] = ()) -> dict:
    """Import in a fresh interpreter (optionally with modules made unimportable); report what got loaded."""
    code = f"""
import sys, json, importlib.abc
BLOCK = {list(block)!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCK:
            raise ImportError('blocked for the layering test: ' + name)
        return None
sys.meta_path.insert(0, Blocker())
{import_stmt}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("stmt", [
    "import segstudio.core, segstudio.core.project, segstudio.core.image_io, segstudio.core.demo",
    "import segstudio.cli; segstudio.cli.build_parser()",
    "import segstudio.engine",
    "import segstudio.session, segstudio.session.session, segstudio.session.recovery; segstudio.session.Session()",
])
def test_headless_modules_import_without_qt(stmt):
    loaded = _loaded_after(stmt, block=QT_MODULES)
    assert not loaded & set(QT_MODULES)


def test_every_core_module_imports_without_torch_or_qt():
    modules = sorted(
        "segstudio." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for p in (PACKAGE / "core").rglob("*.py")
    )
    loaded = _loaded_after("import " + ", ".join(modules), block=QT_MODULES + ("torch", "torchvision"))
    assert "torch" not in loaded and "PySide6" not in loaded


def test_every_session_module_imports_without_qt_or_torch():
    """The app's state is Qt-free (it must import with PySide6 absent) and needs no torch."""
    modules = sorted(
        "segstudio." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for p in (PACKAGE / "session").rglob("*.py")
    )
    loaded = _loaded_after("import " + ", ".join(modules), block=QT_MODULES + ("torch", "torchvision"))
    assert not loaded & set(QT_MODULES) and "torch" not in loaded


def test_session_never_imports_qt_or_torch_statically():
    offenders = [str(p.relative_to(ROOT)) for p in (PACKAGE / "session").rglob("*.py")
                 if _imports(p) & (set(QT_MODULES) | {"torch", "torchvision"})]
    assert offenders == []


def test_gui_has_no_mixins_no_swallowed_import_errors_and_no_hasattr_probing():
    """Widgets get their dependencies passed in: no *Mixin classes, no `except ImportError: pass`, no hasattr."""
    offenders = []
    for path in (PACKAGE / "gui").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Mixin"):
                offenders.append(f"{path.name}: class {node.name}")
            if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and \
                    node.type.id == "ImportError" and all(isinstance(b, ast.Pass) for b in node.body):
                offenders.append(f"{path.name}:{node.lineno}: except ImportError: pass")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr":
                offenders.append(f"{path.name}:{node.lineno}: hasattr")
    assert offenders == []


def test_every_engine_and_command_module_imports_without_qt():
    mods = [p for p in list((PACKAGE / "engine").rglob("*.py")) + list((PACKAGE / "commands").rglob("*.py"))]
    modules = sorted(
        "segstudio." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__") for p in mods
    )
    loaded = _loaded_after("import " + ", ".join(modules), block=QT_MODULES)
    assert not loaded & set(QT_MODULES)
