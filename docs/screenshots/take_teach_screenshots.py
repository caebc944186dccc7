"""Take the README's screenshots of the Teach tab: teaching live, and the compare view.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/take_teach_screenshots.py [--out DIR]

A personal library is made from the KDE wallpapers: ten photographic scenes, three "shots"
of each (crop, flip, light), each captioned as a person would, with a name only that scene
has; eight other wallpapers stay un-edited. photocap is then taught from those 30 captions in
the app, exactly as a user would (the Teach tab's button), and the new model is compared with
the built-in tagger. Everything happens in a temporary data folder and settings file.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import SIZE, make_pump, save_small

WALLPAPERS = Path("/usr/share/wallpapers")
SCENES = {  # wallpaper: the caption its owner wrote
    "BytheWater": "the old jetty at lake varna in the evening",
    "ColdRipple": "the foggy pier at grandpa's lake house",
    "ColorfulCups": "mia's birthday party cups from above",
    "EveningGlow": "rowing boats on derwent water at sunset",
    "FallenLeaf": "a red maple leaf in aunt rosa's garden",
    "Grey": "the wavy roof of the basel exhibition hall",
    "OneStandsOut": "moss stars on the trail to skaftafell",
    "Path": "the forest path behind oma's cabin",
    "Kite": "leo's kite over the dunes at sylt",
    "summer_1am": "midnight sun over lake inari",
}
UNEDITED = ("Altai", "Autumn", "SafeLanding", "MilkyWay", "Volna", "DarkestHour", "Honeywave", "FlyingKonqui")


def wallpaper(name: str) -> Path:
    files = sorted(
        (WALLPAPERS / name / "contents" / "images").glob("*.*"),
        key=lambda p: (
            p.suffix == ".png",
            abs(int(p.name.split("x")[0]) - 2560) if p.name.split("x")[0].isdigit() else 9999,
        ),
    )
    return files[0]


def make_library(folder: Path) -> dict[str, str]:
    """Shots written as JPEGs; returns {file name: the user's caption} for the captioned ones."""
    from PIL import Image, ImageEnhance, ImageOps

    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    captions = {}
    for name, caption in SCENES.items():
        im = Image.open(wallpaper(name))
        im.draft("RGB", (1600, 1000))
        im = im.convert("RGB")
        for k in range(3):
            w, h = im.size
            cw, ch = int(w * rng.uniform(0.7, 0.95)), int(h * rng.uniform(0.7, 0.95))
            x, y = rng.randrange(w - cw + 1), rng.randrange(h - ch + 1)
            shot = im.crop((x, y, x + cw, y + ch)).resize((1200, 800))
            if k == 1:
                shot = ImageOps.mirror(shot)
            shot = ImageEnhance.Brightness(shot).enhance(rng.uniform(0.85, 1.15))
            file = f"{name.lower()}_{k + 1}.jpg"
            shot.save(folder / file, quality=rng.choice((80, 88, 94)))
            captions[file] = caption
    for name in UNEDITED:
        im = Image.open(wallpaper(name))
        im.draft("RGB", (1600, 1000))
        im.convert("RGB").resize((1200, 800)).save(folder / f"{name.lower()}.jpg", quality=88)
    return captions


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--minutes", type=float, default=3.0, help="teaching time budget")
    args = parser.parse_args()
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="photocap-teach-shots-"))
    os.environ["PHOTOCAP_DATA_DIR"] = str(work / "data")
    folder = work / "Pictures" / "Trips"
    captions = make_library(folder)
    library_file = work / "data" / "library.sqlite"
    library_file.parent.mkdir(parents=True, exist_ok=True)

    from photocap.ingest import scan
    from photocap.library import open_library

    lib = open_library(library_file)
    try:
        scan(lib, lib.add_folder(folder).id)
        for ref in lib.photos_needing_caption("none"):
            text = captions.get(Path(ref.path).name)
            if text:
                lib.set_user_caption(ref.id, text)
    finally:
        lib.close()

    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from photocap.ui.app import create_app

    app, style = create_app(["photocap"])
    style.apply(app, "light")
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    window = MainWindow(AppSettings(thumb_size=192), library_path=str(library_file))
    window.resize(*SIZE)
    window.show()
    window.start()

    pump = make_pump(app, lambda: window.status.activity.text(), default_timeout=600.0)

    def shot(name: str, image=None) -> None:
        size = save_small(image if image is not None else window.grab().toImage(), out / name)
        print(f"{out / name}: {size / 1024:.0f} KB")

    pump(
        until=lambda: (
            window.captions.info is not None and not window.captions.running and window.browser.counts is not None
        ),
        timeout=600,
    )  # the un-edited photos get their tags
    view, service = window.teach_view, window.teach_service
    window.tabs.setCurrentWidget(view)
    pump(until=lambda: view.captions_card.big.text() == str(len(captions)), timeout=60)
    service.options = {"minutes": args.minutes}
    grabbed = []

    def on_progress(p) -> None:  # the latest moment mid-run with a few held-out scores on the plot
        if p.phase == "training" and view.plot is not None and len(view.plot.scores) >= 4:
            grabbed[:] = [window.grab().toImage()]

    service.progress.connect(on_progress)
    outcomes = []
    service.finished.connect(outcomes.append)
    service.failed.connect(outcomes.append)
    view.teach_button.click()
    pump(
        until=lambda: (len(grabbed) and view.plot is not None and len(view.plot.scores) >= 8) or bool(outcomes),
        timeout=1200,
    )
    if grabbed:
        shot("teach.png", grabbed[0])
    pump(until=lambda: bool(outcomes), timeout=1200)
    service.progress.disconnect(on_progress)
    outcome = outcomes[0]
    if getattr(outcome, "kind", None) != "done":
        print(f"teaching did not finish: {outcome}", file=sys.stderr)
        return 1
    pump(until=lambda: view.versions.rowCount() == 2, timeout=60)
    pump(0.5)
    shot("teach-done.png")
    comparisons = []
    service.compared.connect(comparisons.append)
    window.teacher.compare(outcome.model_id)
    pump(until=lambda: bool(comparisons), timeout=900)
    page = view.compare
    pump(
        until=lambda: all(
            lab.pixmap() is not None and not lab.pixmap().isNull() for labs in page._thumbs.values() for lab in labs
        ),
        timeout=120,
    )
    pump(0.5)
    shot("teach-compare.png")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
