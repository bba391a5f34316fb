"""Build hook: ship the top-level ``resources/`` folder inside the wheel as ``segstudio/resources_data/``.

All metadata lives in pyproject.toml; this file only adds that copy step to ``build_py``
(``segstudio.resources`` finds the folder there in an installed wheel, next to the package in a
source checkout, and under ``sys._MEIPASS`` in the PyInstaller app).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = Path(__file__).resolve().parent / "resources"


class BuildPyWithResources(build_py):
    """``build_py`` that also copies ``resources/`` to ``<build_lib>/segstudio/resources_data``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not RESOURCES.is_dir():
            return  # editable installs read resources/ from the checkout
        target = Path(self.build_lib) / "segstudio" / "resources_data"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(RESOURCES, target)


setup(cmdclass={"build_py": BuildPyWithResources})
