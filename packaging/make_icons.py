"""Render the SVG icon master into the PNG sizes, .ico and .icns every platform needs.

Usage: python packaging/make_icons.py OUT_DIR
Writes OUT_DIR/hicolor/<n>x<n>/apps/<app id>.png, OUT_DIR/verbatim.ico, OUT_DIR/verbatim.icns.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app import APP_ID  # noqa: E402

SIZES = [16, 22, 24, 32, 48, 64, 128, 256, 512]


def render(svg: Path, size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def main(out: Path) -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt needs one)
    svg = ROOT / "resources" / "icons" / "verbatim.svg"
    for size in SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(svg, size).save(str(target), "PNG"):
            raise SystemExit(f"could not write {target}")
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg.read_bytes())
    if not render(svg, 256).save(str(out / "verbatim.ico"), "ICO"):
        raise SystemExit("could not write verbatim.ico")
    if not render(svg, 512).save(str(out / "verbatim.icns"), "ICNS"):
        raise SystemExit("could not write verbatim.icns")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "icons")))
