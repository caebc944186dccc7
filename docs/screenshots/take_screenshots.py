"""Take the README's screenshots of the app with real photos (the KDE wallpapers).

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 python docs/screenshots/take_screenshots.py [--photos GLOB] [--out docs/screenshots]

Everything happens in a temporary data folder and settings file; nothing of the user's
is read or written. PNGs are quantised so that each stays small (<= 300 KB).
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

WALLPAPERS = "/usr/share/wallpapers/*/contents/images/*"
SIZE = (1440, 900)


def make_pump(app, status, default_timeout: float = 300.0):
    """``pump(seconds)`` runs the event loop for a while; ``pump(until=f)`` until ``f()`` is true
    (``status()`` says what the window was doing when a step times out)."""

    def pump(seconds: float = 0.0, until=None, timeout: float = default_timeout) -> None:
        end = time.monotonic() + (timeout if until else seconds)
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return
            time.sleep(0.02)
        if until is not None:
            raise TimeoutError(f"screenshot step timed out; status: {status()!r}")

    return pump


def pick_wallpapers(pattern: str, n: int) -> list[Path]:
    """One landscape image per wallpaper, preferring JPEG and about 2560 px wide."""
    by_name: dict[str, list[Path]] = collections.defaultdict(list)
    for f in glob.glob(pattern):
        m = re.search(r"(\d+)x(\d+)\.(jpe?g|png)$", f)
        if m and int(m.group(1)) > int(m.group(2)):
            by_name[Path(f).parts[-4]].append(Path(f))
    picks = []
    for name in sorted(by_name):
        files = by_name[name]
        picks.append(min(files, key=lambda p: (p.suffix == ".png", abs(int(p.name.split("x")[0]) - 2560))))
    return picks[:n]


def save_small(image, path: Path, limit: int = 300_000) -> int:
    """QImage -> quantised PNG under ``limit`` bytes (scaling down a little if needed)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    import io

    im = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    scale = 1.0
    while True:
        frame = (
            im if scale == 1.0 else im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.LANCZOS)
        )
        q = frame.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
        q.save(path, optimize=True)
        size = path.stat().st_size
        if size <= limit or scale < 0.5:
            return size
        scale *= 0.9


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", default=WALLPAPERS)
    parser.add_argument("--count", type=int, default=22)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args()
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="photocap-shots-"))
    os.environ["PHOTOCAP_DATA_DIR"] = str(work / "data")
    picks = pick_wallpapers(args.photos, args.count)
    if not picks:
        print("no photos found for", args.photos, file=sys.stderr)
        return 1
    folders = [work / "Pictures" / "Travel", work / "Pictures" / "Wallpapers"]
    for i, src in enumerate(picks):
        dest = folders[i % 2] / f"{src.parts[-4]}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)

    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from photocap.ui.app import create_app

    app, style = create_app(["photocap"])
    style.apply(app, "light")
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    window = None

    pump = make_pump(app, lambda: window.status.activity.text())

    def shot(widget, name: str, settle: float = 0.4) -> None:
        pump(settle)
        size = save_small(widget.grab().toImage(), out / name)
        print(f"{out / name}: {size / 1024:.0f} KB")

    window = MainWindow(
        AppSettings(thumb_size=192), library_path=str(work / "data" / "library.sqlite"), auto_caption=False
    )  # switched on below, once both folders are read
    window.resize(*SIZE)
    window.show()
    window.start()
    pump(until=lambda: window.browser.counts is not None)
    shot(window, "empty-state.png")

    for folder in folders:
        window.add_folder(str(folder))
    pump(until=lambda: window.grid_model.rowCount() == len(picks) and not window.library.scanning)
    pump(until=lambda: window.captions.info is not None, timeout=120)
    grabbed = []

    def on_progress(p) -> None:  # runs after the status bar has shown this progress
        if p.done + p.failed < p.total and (p.rate > 0 or not grabbed):
            grabbed[:] = [window.grab().toImage()]  # the latest mid-pass moment, speed shown if any

    window.captions.progress.connect(on_progress)
    pump(0.5)  # the grid reports what is on screen (captioned first)
    window.captions.auto = True
    window.captions.kick()
    pump(until=lambda: window.captions.running, timeout=120)
    pump(until=lambda: not window.captions.running, timeout=600)
    window.captions.progress.disconnect(on_progress)
    if grabbed:
        print(f"{out / 'captioning.png'}: {save_small(grabbed[0], out / 'captioning.png') / 1024:.0f} KB")
    pump(until=lambda: not window.captions.running and not window.library.scanning, timeout=600)

    def thumbs_ready() -> bool:
        from photocap.ui.item_models.photo_grid import ThumbStateRole

        m, g = window.grid_model, window.page.grid
        shown = [m.index(r) for r in range(m.rowCount()) if g.visualRect(m.index(r)).intersects(g.viewport().rect())]
        return all(ix.data(ThumbStateRole) != "loading" for ix in shown)

    grid = window.page.grid
    pump(until=thumbs_ready, timeout=300)
    target = next(i for i in window.grid_model.ids() if "Kite" in (window.grid_model.summary(i).name or ""))

    def select(photo_id: int) -> None:
        """Select a photo and wait for its preview (the panel shows the one before until the new one is read)."""
        grid.select_id(photo_id)
        detail = window.page.detail
        pump(until=lambda: detail.photo_id == photo_id and detail.preview._pixmap is not None, timeout=60)

    select(target)
    browser = window.browser
    pump(until=lambda: not browser._counts_timer.isActive() and not browser._counts_loading, timeout=30)
    shot(window, "main-window.png")

    # search: the most common caption word, typed as a person would
    words = collections.Counter(
        w
        for i in window.grid_model.ids()
        for w in set(re.findall(r"[a-z]{4,}", (window.grid_model.summary(i).caption or "").lower()))
    )
    query = words.most_common(1)[0][0] if words else "sea"
    window.page.header.search.setText(query[: max(3, len(query) - 2)])
    pump(
        until=lambda: (
            window.page.header.subtitle.text().startswith(tuple("0123456789"))
            and "match" in window.page.header.subtitle.text()
        ),
        timeout=30,
    )
    pump(until=thumbs_ready, timeout=120)
    first = window.grid_model.photo_id(0)
    if first is not None:
        select(first)
    shot(window, "search.png")
    window.page.header.search.clear()
    pump(until=lambda: window.grid_model.rowCount() == len(picks), timeout=30)
    pump(0.5)
    select(target)
    grid.scrollToTop()
    style.apply(app, "dark")
    pump(until=thumbs_ready, timeout=120)
    shot(window, "dark.png")
    style.apply(app, "light")

    from photocap.ui.jobs.captions_io import read_library_settings
    from photocap.ui.views.settings_dialog import SettingsDialog

    library_settings: list[dict] = []  # read on the library lane, as the window's open_settings does
    window.library.run(read_library_settings, on_result=library_settings.append)
    pump(until=lambda: bool(library_settings), timeout=30)
    dialog = SettingsDialog(
        window.settings,
        window.browser.counts.folders if window.browser.counts else [],
        window,
        library_settings=library_settings[0],
    )
    dialog.show()
    shot(dialog, "settings.png")
    dialog.close()
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
