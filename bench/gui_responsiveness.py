"""Does the app stay responsive? Two figures, each beside a baseline measured in the same run.

    python bench/gui_responsiveness.py [--photos 200] [--launches 5] [--src GLOB]

1. **Longest GUI event-loop stall while captioning N photos.** A 5 ms precise QTimer runs
   on the GUI thread of a real main window (grid with thumbnails, sidebar, status bar);
   the stall is the largest lateness of any tick while a captioning pass over N real
   photos runs (target <= 50 ms). The photos are crops of the KDE wallpapers saved as
   1600x1000 JPEGs, already in the library (scanned before measuring).
     app:       photocap as shipped: the pass runs on the model lane (its own QThread).
     baseline:  the same engine and library writes driven from the GUI thread, handing
                control back to Qt (processEvents) after every photo, as a naive app would.
2. **Scrolling a grid of 50,000 photos** (--grid-photos; tiny real JPEG files, scanned into
   a real library before measuring): the grid is scrolled half a page every 16 ms for 5 s,
   then to the end and back, then a search is typed and cleared; the stall meter runs
   throughout.
     app:       rows and thumbnails arrive from the library and thumbnail lanes.
     baseline:  the same model and view, but each page of rows read from the library on
                the GUI thread when the view first asks for it (a naive model);
     py-model:  the same, with the row count answered in Python (a plain QAbstractListModel),
                as photocap's grid model was before it kept its rows in C++.
3. **Longest GUI event-loop stall while teaching** (--teach-photos of the photos captioned by
   "the user" with their wallpaper's name, taught for --teach-minutes with the trainer's own
   size rule: feature pass, training steps, validation, calibration, registration):
     app:       the Teach tab's "Teach from my captions": ``trainer.teach.teach`` on the teach
                lane (its own QThread), events throttled to ~10/s, a live pyqtgraph plot.
     baseline:  the same generator iterated on the GUI thread, handing control back to Qt
                (processEvents) after every event, as a naive app would.
4. **Launch to window shown**: from spawning ``python -c "...main()"`` to the first painted
   frame of the main window (target <= 1.5 s), median of --launches runs.
     app:       ``photocap.ui.app.main``, which imports torch only in the background later.
     baseline:  the same, after ``import torch`` (an app that loads the model stack first).

Qt runs on the ``offscreen`` platform unless DISPLAY is set (then xcb, e.g. under Xvfb).
Each measurement runs in its own process; the machine's load (uptime) is printed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WALLPAPERS = "/usr/share/wallpapers/*/contents/images/*.jpg"
TICK_MS = 5


# ---- photos ------------------------------------------------------------------------------
def make_photos(folder: Path, n: int, pattern: str) -> list[Path]:
    """``n`` distinct 1600x1000 JPEGs cut from real photos (random crops and flips)."""
    from PIL import Image, ImageOps

    sources = sorted(glob.glob(pattern))
    if not sources:
        raise SystemExit(f"no source photos match {pattern}")
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    bases = []
    for src in sources[: max(1, min(len(sources), 40))]:
        im = Image.open(src)
        im.draft("RGB", (2400, 1500))
        bases.append(im.convert("RGB"))
    out = []
    for i in range(n):
        im = bases[i % len(bases)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.6, 0.95)), int(h * rng.uniform(0.6, 0.95))
        x, y = rng.randrange(w - cw + 1), rng.randrange(h - ch + 1)
        crop = im.crop((x, y, x + cw, y + ch)).resize((1600, 1000))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        path = folder / f"photo_{i:04d}.jpg"
        crop.save(path, quality=88)
        out.append(path)
    return out


# ---- stall meter (runs inside the measured process) ----------------------------------------
class StallMeter:
    """Lateness of a 5 ms timer on the GUI thread. With ``PHOTOCAP_BENCH_WHY=1`` a watcher thread
    also notes, for each tick later than WHY_MS, what every thread was running at that moment
    (the GUI thread's innermost photocap/Qt frames, and which other thread was busy in Python)."""

    WHY_MS = 40

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.why: list[str] = []
        self._last = None
        self._watching = False
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def _watch(self) -> None:
        import threading
        import traceback

        main = threading.main_thread().ident
        noted_for = None
        while self._watching:
            time.sleep(0.01)
            last = self._last
            if last is None or time.perf_counter() - last < self.WHY_MS / 1000 or noted_for == last:
                continue
            noted_for = last
            names = {t.ident: t.name for t in threading.enumerate()}
            lines = [
                f"stall at +{time.perf_counter() - self._t0:.1f} s, {1000 * (time.perf_counter() - last):.0f} ms late:"
            ]
            for ident, frame in sys._current_frames().items():
                if ident == threading.get_ident():
                    continue
                stack = list(traceback.extract_stack(frame))[-4:]
                where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack))
                lines.append(f"  {'GUI' if ident == main else names.get(ident, ident)}: {where}")
            self.why.append("\n".join(lines))

    def start(self) -> None:
        self._last = None
        self._t0 = time.perf_counter()
        self.timer.start()
        if os.environ.get("PHOTOCAP_BENCH_WHY"):
            import threading

            self._watching = True
            threading.Thread(target=self._watch, name="stall-watcher", daemon=True).start()

    def stop(self) -> dict:
        self.timer.stop()
        self._watching = False
        lateness = sorted(max(0.0, g - TICK_MS / 1000) * 1000 for g in self.gaps) or [0.0]
        return {
            "max_ms": round(lateness[-1], 1),
            "p99_ms": round(lateness[int(0.99 * (len(lateness) - 1))], 1),
            "over_50ms": sum(1 for x in lateness if x > 50),
            "ticks": len(lateness),
            "why": self.why,
        }


def _pump(app, until, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.005)


def _isolate(data_dir: str) -> None:
    """Library, caches and settings in the benchmark's temporary folder, not the user's."""
    os.environ["PHOTOCAP_DATA_DIR"] = data_dir
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(data_dir) / "settings"))


def run_stall(mode: str, library_file: str, data_dir: str) -> dict:
    """One measurement in this process: 'app' (worker lane), 'gui-thread' (baseline), or
    'startup' / 'startup-torch-first' (from the first frame until the model is loaded), or
    'teach' / 'teach-gui-thread' (teaching from the user's captions)."""
    _isolate(data_dir)
    if mode == "startup-torch-first":
        import torch  # noqa: F401
        import torchvision.models  # noqa: F401  (the tagger's label table)
    from photocap.ui.app import create_app

    app, style = create_app(["bench"])
    style.apply(app, "light")
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    window = MainWindow(AppSettings(), library_path=library_file, auto_caption=False)
    window.resize(1440, 900)
    meter = StallMeter()
    if mode.startswith("startup"):  # as app.main does: show, then start once painted
        t0 = time.perf_counter()
        window.first_shown.connect(meter.start)
        window.start_after_first_frame()
        window.show()
        _pump(
            app,
            lambda: (
                window.captions.info is not None and window.grid_model.rowCount() > 0 and not window.library.scanning
            ),
            120,
        )
        result = meter.stop()
        result.update(mode=mode, seconds=round(time.perf_counter() - t0, 1), device=window.captions.info.device)
        window.close()
        return result
    window.show()
    window.start()
    _pump(app, lambda: window.captions.info is not None and window.grid_model.rowCount() > 0, 120)
    _pump(app, lambda: not window.library.scanning, 120)  # the start-up rescan (nothing new)
    t0 = time.perf_counter()
    if mode.startswith("teach"):
        return _teach_stall(app, window, meter, mode, library_file)
    if mode == "app":
        meter.start()
        window.captions.auto = True
        window.captions.kick()
        _pump(app, lambda: window.captions.running, 30)
        _pump(app, lambda: not window.captions.running, 1800)
    else:
        from photocap.engine import CaptionEngine

        settings = AppSettings()
        engine = CaptionEngine.create(None, device=settings.device, beam=settings.beam, max_len=settings.max_len)
        engine.batch_size = 8  # as the app does on a CPU
        lib = window.library.library
        refs = lib.photos_needing_caption(engine.model_id)
        by_path = {r.path: r.id for r in refs}
        meter.start()
        t0 = time.perf_counter()
        for item in engine.caption_paths([r.path for r in refs]):
            d = item.description
            if d is not None:
                lib.record_caption(by_path[item.path], d.text, d.source, engine.model_id, d.tags)
            app.processEvents()
    seconds = time.perf_counter() - t0
    result = meter.stop()
    result.update(mode=mode, seconds=round(seconds, 1), device=window.captions.info.device)
    window.close()
    return result


def _teach_stall(app, window, meter, mode: str, library_file: str) -> dict:
    minutes = float(os.environ.get("PHOTOCAP_BENCH_TEACH_MINUTES", "0.5"))
    if mode == "teach":
        window.tabs.setCurrentWidget(window.teach_view)  # the live plot draws while we measure
        _pump(app, lambda: window.teach_view.plot is not None, 30)
        service = window.teach_service
        service.options = {"minutes": minutes, "device": "cpu"}
        outcomes = []
        service.finished.connect(outcomes.append)
        service.failed.connect(lambda msg: outcomes.append(msg))
        meter.start()
        t0 = time.perf_counter()
        window.teacher.teach()
        _pump(app, lambda: bool(outcomes), 1800)
        kind = getattr(outcomes[0], "kind", str(outcomes[0]))
        points = len(window.teach_view.plot.losses)
    else:
        from trainer.teach import TeachOptions, teach

        meter.start()
        t0 = time.perf_counter()
        kind, points = "?", 0
        for ev in teach(library_file, TeachOptions(minutes=minutes, device="cpu")):
            kind = ev.kind
            points += ev.kind == "step"
            app.processEvents()
    seconds = time.perf_counter() - t0
    result = meter.stop()
    result.update(mode=mode, seconds=round(seconds, 1), outcome=kind, loss_points=points, device="CPU")
    window.close()
    return result


def caption_like_a_user(library_file: Path, n: int) -> None:
    """The first ``n`` photos get a caption naming the wallpaper they were cut from."""
    from photocap.library import open_library

    names = [Path(p).parts[-4].lower() for p in sorted(glob.glob(WALLPAPERS))[:40]]
    lib = open_library(library_file)
    try:
        refs = sorted(lib.photos_needing_caption("none"), key=lambda r: r.path)[:n]
        for ref in refs:
            i = int(Path(ref.path).stem.split("_")[-1])
            lib.set_user_caption(ref.id, f"a photo of the {names[i % len(names)]} scene")
    finally:
        lib.close()


def make_tiny_photos(folder: Path, n: int) -> None:
    """``n`` distinct small JPEGs (64x48; trailing bytes after the image make each unique)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG", quality=70)
    data = buf.getvalue()
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"img_{i:06d}.jpg").write_bytes(data + i.to_bytes(4, "big"))


class _SyncService:
    """The baseline's naive model: the grid's reads (the LibraryService methods it calls) run on the
    GUI thread and are answered at once."""

    def __init__(self, library):
        self.library = library

    def photos_by_ids(self, ids, *, on_result):
        on_result(self.library.photos_by_ids(list(ids)))

    def list_photo_ids(self, filter=None, order="taken", *, on_result):
        on_result(self.library.list_photo_ids(filter, order))

    def similar_photos(self, photo_id, limit=50, *, on_result):
        on_result(self.library.similar_photos(photo_id, limit))

    def search(self, query, filters, limit, offset, on_result, on_failed, query_vector=None, vector_model=None):
        from types import SimpleNamespace

        from photocap.ui.jobs.library_service import _search  # the service's own job, run here

        ctx = SimpleNamespace(stop_requested=lambda: False)
        on_result(_search(ctx, self.library, query, filters, limit, offset, query_vector, vector_model))


def run_grid(mode: str, library_file: str, data_dir: str) -> dict:
    _isolate(data_dir)
    from PySide6.QtCore import QModelIndex, QTimer

    if mode == "py-model":
        import photocap.ui.main_window as mw

        class PythonRowCount(mw.PhotoGridModel):
            def rowCount(self, parent=QModelIndex()):  # noqa: B008 - what a QAbstractListModel does
                return 0 if parent.isValid() else len(self._ids)

        mw.PhotoGridModel = PythonRowCount

    from photocap.ui.app import create_app

    app, style = create_app(["bench"])
    style.apply(app, "light")
    from photocap.ui.main_window import MainWindow
    from photocap.ui.settings import AppSettings

    window = MainWindow(AppSettings(), library_path=library_file, auto_caption=False)
    window.resize(1440, 900)
    window.show()
    window.start()
    _pump(app, lambda: window.grid_model.rowCount() > 0 and window.captions.info is not None, 300)
    _pump(app, lambda: not window.library.scanning, 600)
    model, grid = window.grid_model, window.page.grid
    if mode == "baseline":
        model._service = _SyncService(window.library.library)
        model.refresh()
        _pump(app, lambda: model.rowCount() > 0, 60)
    bar = grid.verticalScrollBar()
    steps = {"n": 0}
    meter = StallMeter()

    def step() -> None:
        steps["n"] += 1
        if steps["n"] <= 300:
            bar.setValue(bar.value() + bar.pageStep() // 2)
        elif steps["n"] == 301:
            bar.setValue(bar.maximum())
        elif steps["n"] == 340:
            bar.setValue(0)
        elif steps["n"] == 350:
            window.browser.search("img_0001")  # a search narrows the grid ...
        elif steps["n"] == 375:
            window.browser.search("")  # ... and clearing it brings back all 50,000

    timer = QTimer(interval=16, timeout=step)
    t0 = time.perf_counter()
    meter.start()
    timer.start()
    _pump(app, lambda: steps["n"] >= 400, 300)
    timer.stop()
    result = meter.stop()
    shown = [model.summary(i) for i in grid.visible_ids()[:12]]
    result.update(
        mode=mode,
        rows=model.rowCount(),
        seconds=round(time.perf_counter() - t0, 1),
        rows_loaded_on_screen=sum(1 for s_ in shown if s_ is not None),
    )
    window.close()
    return result


def run_launch(import_torch_first: bool, data_dir: str) -> float:
    env = dict(
        os.environ,
        PHOTOCAP_DATA_DIR=data_dir,
        PHOTOCAP_REPORT_LAUNCH="quit",
        XDG_CONFIG_HOME=str(Path(data_dir) / "config"),
    )  # the app's QSettings file goes there
    code = ("import torch\n" if import_torch_first else "") + "from photocap.ui.app import main\nmain(['photocap'])"
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("first-frame-at"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"no first frame reported:\n{out.stdout}\n{out.stderr}")


def _child(kind: str, mode: str, library_file: Path, data: Path) -> dict:
    """One measurement in a fresh process; its one line ``RESULT {json}``."""
    out = subprocess.run(
        [sys.executable, __file__, kind, mode, str(library_file), str(data)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{kind} {mode} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(line[7:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--src", default=WALLPAPERS)
    parser.add_argument("--grid-photos", type=int, default=50_000)
    parser.add_argument("--teach-photos", type=int, default=40, help="photos the user captioned (teaching case)")
    parser.add_argument("--teach-minutes", type=float, default=0.5, help="teaching time budget")
    parser.add_argument(
        "--cases",
        default="caption,grid,teach,launch",
        help="which measurements to run (comma-separated: caption, grid, teach, launch)",
    )
    parser.add_argument("--stall", nargs=3, metavar=("MODE", "LIBRARY", "DATA"), help=argparse.SUPPRESS)
    parser.add_argument("--grid", nargs=3, metavar=("MODE", "LIBRARY", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.stall:
        print("RESULT " + json.dumps(run_stall(*args.stall)), flush=True)
        return 0
    if args.grid:
        print("RESULT " + json.dumps(run_grid(*args.grid)), flush=True)
        return 0

    print(
        f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"(1/5/15 min) on {os.cpu_count()} cores; Qt platform: {os.environ.get('QT_QPA_PLATFORM', 'xcb')}"
    )
    work = Path(tempfile.mkdtemp(prefix="photocap-bench-gui-"))
    t = time.perf_counter()
    folder = work / "photos"
    make_photos(folder, args.photos, args.src)
    print(f"{args.photos} photos written in {time.perf_counter() - t:.1f} s")

    from photocap.ingest import scan
    from photocap.library import open_library

    cases = set(args.cases.split(","))
    os.environ["PHOTOCAP_BENCH_TEACH_MINUTES"] = str(args.teach_minutes)
    modes = (("app", "gui-thread", "startup", "startup-torch-first") if "caption" in cases else ()) + (
        ("teach", "teach-gui-thread") if "teach" in cases else ()
    )
    results = {}
    for mode in modes:
        data = work / f"data-{mode}"
        data.mkdir()
        lib_file = data / "library.sqlite"
        lib = open_library(lib_file)
        scan(lib, lib.add_folder(folder).id)
        lib.close()
        if mode.startswith("startup"):  # start-up with a library that is already captioned
            lib_file = work / "data-app" / "library.sqlite"
        if mode.startswith("teach"):
            caption_like_a_user(lib_file, args.teach_photos)
        results[mode] = _child("--stall", mode, lib_file, data)

    grid_results = {}
    if args.grid_photos and "grid" in cases:
        t = time.perf_counter()
        make_tiny_photos(work / "many", args.grid_photos)
        grid_lib = work / "grid.sqlite"
        lib = open_library(grid_lib)
        scan(lib, lib.add_folder(work / "many").id)
        lib.close()
        print(f"{args.grid_photos:,} small photos written and scanned in {time.perf_counter() - t:.0f} s")
        for mode in ("app", "baseline", "py-model"):
            data = work / f"data-grid-{mode}"
            data.mkdir()
            grid_results[mode] = _child("--grid", mode, grid_lib, data)

    app_launch = torch_launch = []
    if "launch" in cases:
        launch_data = work / "data-launch"
        launch_data.mkdir()
        run_launch(False, str(launch_data))  # warm the file cache (first run of the day)
        app_launch = [run_launch(False, str(launch_data)) for _ in range(args.launches)]
        torch_launch = [run_launch(True, str(launch_data)) for _ in range(args.launches)]

    if "caption" in cases:
        a, b = results["app"], results["gui-thread"]
        print(f"\nGUI event-loop stall while captioning {args.photos} photos ({a['device']}), 5 ms timer:")
        print(f"  {'':34s} {'longest':>9s} {'p99':>8s} {'>50 ms':>7s} {'pass':>7s}")
        for name, r in (("photocap (model lane, own QThread)", a), ("baseline (caption on GUI thread)", b)):
            print(f"  {name:34s} {r['max_ms']:7.1f}ms {r['p99_ms']:6.1f}ms {r['over_50ms']:7d} {r['seconds']:6.1f}s")
        c, d = results["startup"], results["startup-torch-first"]
        print("\nGUI event-loop stall during start-up, from the first frame until the model is loaded:")
        for name, r in (("photocap (torch imported after the frame)", c), ("baseline (torch imported before)", d)):
            print(
                f"  {name:42s} longest {r['max_ms']:6.1f} ms, p99 {r['p99_ms']:5.1f} ms, {r['over_50ms']} over 50 ms, "
                f"ready after {r['seconds']:.1f} s"
            )
    if "teach" in cases:
        print(
            f"\nGUI event-loop stall while teaching from {args.teach_photos} user captions "
            f"({args.teach_minutes} min budget), 5 ms timer:"
        )
        for name, r in (
            ("photocap (Teach tab, teach lane, live plot)", results["teach"]),
            ("baseline (same generator on the GUI thread)", results["teach-gui-thread"]),
        ):
            print(
                f"  {name:44s} longest {r['max_ms']:7.1f} ms, p99 {r['p99_ms']:5.1f} ms, {r['over_50ms']} over "
                f"50 ms, {r['seconds']:.1f} s, ended {r['outcome']}"
            )
        for stall in results["teach"].get("why", []):
            print(stall)
    if grid_results:
        g, h, k = grid_results["app"], grid_results["baseline"], grid_results["py-model"]
        print(
            f"\nGUI event-loop stall scrolling a grid of {g['rows']:,} photos "
            "(half a page per 16 ms, end, top, search typed and cleared):"
        )
        for name, r in (
            ("photocap (rows + thumbnails from lanes)", g),
            ("baseline (rows read on the GUI thread)", h),
            ("baseline (row count answered in Python)", k),
        ):
            print(
                f"  {name:42s} longest {r['max_ms']:6.1f} ms, p99 {r['p99_ms']:5.1f} ms, "
                f"{r['over_50ms']} over 50 ms; rows on screen loaded at the end {r['rows_loaded_on_screen']}/12"
            )
    if app_launch:
        print(f"\nLaunch to first painted frame (median of {args.launches}; spawn of python included):")
        print(
            f"  photocap (torch imported later, in the background)  {statistics.median(app_launch):.2f} s  "
            f"(min {min(app_launch):.2f}, max {max(app_launch):.2f})"
        )
        print(
            f"  baseline (import torch before the window)           {statistics.median(torch_launch):.2f} s  "
            f"(min {min(torch_launch):.2f}, max {max(torch_launch):.2f})"
        )
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
