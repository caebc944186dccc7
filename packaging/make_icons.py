"""Render the app icon (resources/icons/photocap.svg) into the files each platform wants.

    python packaging/make_icons.py

writes, next to the SVG: photocap.png (512 px; the window icon and the Linux menu entry),
photocap.ico (Windows: 16-256 px) and photocap.icns (macOS: 16-1024 px). The results are
committed, so building an installer never needs this; run it again after editing the SVG.
Qt renders the SVG (offscreen, no display needed); Pillow writes .ico and .icns.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(svg: Path, size: int) -> Image.Image:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    from io import BytesIO

    return Image.open(BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> None:
    svg = ICONS / "photocap.svg"
    big = render(svg, 1024)
    render(svg, 512).save(ICONS / "photocap.png")
    # Each size rendered from the vector, not scaled down from one bitmap.
    ico_sizes = [16, 24, 32, 48, 64, 128, 256]
    render(svg, 256).save(
        ICONS / "photocap.ico",
        sizes=[(s, s) for s in ico_sizes],
        append_images=[render(svg, s) for s in ico_sizes[:-1]],
    )
    big.save(ICONS / "photocap.icns", append_images=[render(svg, s) for s in (16, 32, 64, 128, 256, 512)])
    for name in ("photocap.png", "photocap.ico", "photocap.icns"):
        print(f"{ICONS / name}: {(ICONS / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
