"""Screenshot of the attention heat-map: a trained Show-Attend-Tell model, hovering a word.

    photocap-train synth --out /tmp/synth && photocap-train train --data /tmp/synth/dataset_synth.json \\
        --out /tmp/synth-run --minutes 15                          # or: python bench/train_synthetic.py
    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 python docs/screenshots/take_attention_screenshot.py \\
        --model /tmp/synth-run/best.safetensors --images /tmp/synth/images

The only trained attention model this project can make offline is the synthetic-shapes one,
so the photos are test images of that set (scaled up 4x for the preview; the model sees
224x224 either way). Temporary data folder and settings; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import SIZE, save_small


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="a trained attention model (.safetensors)")
    ap.add_argument("--images", required=True, help="folder of synthetic test images")
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--word", default="star", help="hover this word if the caption has it")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "attention.png"))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="photocap-attention-"))
    os.environ["PHOTOCAP_DATA_DIR"] = str(work / "data")
    from PIL import Image

    folder = work / "Pictures" / "Shapes"
    folder.mkdir(parents=True)
    for src in sorted(Path(args.images).glob("*.png"))[-args.count :]:
        Image.open(src).resize((896, 896), Image.Resampling.BICUBIC).save(folder / src.name)

    from photocap.library import open_library
    from photocap.model.captioner import model_file_id

    lib = open_library(work / "data" / "library.sqlite")
    model_id = model_file_id(args.model)
    lib.register_model_version(model_id, str(Path(args.model).resolve()), name="synthetic shapes (attention)")
    lib.activate_model(model_id)
    lib.close()

    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from photocap.ui.app import create_app
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    app, style = create_app(["photocap"])
    style.apply(app, "light")
    window = MainWindow(AppSettings(thumb_size=192), library_path=str(work / "data" / "library.sqlite"))
    window.resize(*SIZE)
    window.show()
    window.start()

    def pump(until, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if until():
                return
            time.sleep(0.02)
        raise TimeoutError(f"timed out; status: {window.status.activity.text()!r}")

    pump(lambda: window.browser.counts is not None)
    window.add_folder(str(folder))
    pump(lambda: window.grid_model.rowCount() == args.count and not window.library.scanning)
    pump(lambda: window.captions.info is not None and window.captions.info.has_attention)
    pump(lambda: window.captions.running, timeout=60)
    pump(lambda: not window.captions.running)
    ids = window.grid_model.ids()
    captions = {i: window.grid_model.summary(i).caption or "" for i in ids}
    target = next((i for i in ids if f" {args.word} " in f" {captions[i]} "), ids[0])
    window.page.grid.select_id(target)
    detail = window.page.detail
    pump(lambda: detail.photo_id == target and detail.preview._pixmap is not None)
    detail.heat_button.setChecked(True)
    pump(lambda: detail._maps is not None, timeout=60)
    words = list(detail._maps.words)
    detail._on_word_hovered(words.index(args.word) if args.word in words else 0)
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    size = save_small(window.grab().toImage(), Path(args.out))
    print(f"{args.out}: {size / 1024:.0f} KB; caption: {captions[target]!r}")
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
