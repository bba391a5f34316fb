"""Regenerate the raster app icons in ``resources/icons/`` from ``segstudio.svg``.

The SVG is the single source: Qt's SVG renderer draws it at each size (PNG 16..512), and
Pillow packs those renderings into the Windows ``.ico`` and the macOS ``.icns``::

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py

Run it again after editing the SVG and commit the outputs (the build does not need Qt's SVG
module or this script).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICON_DIR / "segstudio.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render_svg(svg: Path, size: int) -> Image.Image:
    """Render ``svg`` to a ``size`` x ``size`` RGBA Pillow image (antialiased, transparent)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        render_svg.app = QGuiApplication([])  # type: ignore[attr-defined]  # kept alive
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def build_icons(svg: Path = SVG, out_dir: Path = ICON_DIR) -> list[Path]:
    """Write ``segstudio-<N>.png`` for every PNG size plus ``segstudio.ico`` and ``segstudio.icns``."""
    renders = {size: render_svg(svg, size) for size in sorted(set(PNG_SIZES) | set(ICNS_SIZES) | set(ICO_SIZES))}
    written: list[Path] = []
    for size in PNG_SIZES:
        path = out_dir / f"segstudio-{size}.png"
        renders[size].save(path, optimize=True)
        written.append(path)
    ico = out_dir / "segstudio.ico"
    largest_ico = renders[max(ICO_SIZES)]
    largest_ico.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[renders[s] for s in ICO_SIZES if s != max(ICO_SIZES)])
    written.append(ico)
    icns = out_dir / "segstudio.icns"
    renders[1024].save(icns, format="ICNS", append_images=[renders[s] for s in ICNS_SIZES if s != 1024])
    written.append(icns)
    return written


def main() -> int:
    for path in build_icons():
        print(f"wrote {path.relative_to(ICON_DIR.parent.parent)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
