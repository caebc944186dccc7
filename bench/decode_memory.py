"""Peak memory of reading and captioning huge, tiny-on-disk PNGs: the old way against now.

    python bench/decode_memory.py [--workers 4] [--skip-old-four16]

The files (made once, in a temporary folder): a 13400x13400 8-bit RGB PNG (~0.6 MB on disk)
and a 13400x13400 16-bit grey PNG (~0.4 MB), just under photocap's 180-megapixel limit.
Every case runs in a fresh child process and reports that process's peak RSS (ru_maxrss),
so imports, the encoder (EfficientNet-Lite0, tagger only) and the decoders all count:

  meta 8-bit        read_meta (size, date, camera)
  caption 8-bit     CaptionEngine.caption_paths, one file
  caption 16-bit    the same, 16-bit file
  caption 4x 8-bit  four copies at once, --workers decoding threads
  caption 4x 16-bit four copies at once

"old" is the pipeline as it was before the decoding budget: Pillow's own getexif (which
decodes a PNG to find EXIF after its pixels), a full-size decode, EXIF rotation and an
8-bit conversion through float64 at full size, and no limit on how many photos the decoding
threads hold at once. "new" is photocap as it is (photocap.imaging: reduced decoding, a
shared budget). The old four 16-bit case needs ~10 GB: skip it on a small machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIDE = 13_400


def make_files(folder: Path) -> tuple[Path, Path]:
    """Flat colour with a few shapes: compresses to well under a megabyte."""
    from PIL import Image, ImageDraw

    Image.MAX_IMAGE_PIXELS = None
    p8, p16 = folder / "big8.png", folder / "big16.png"
    im = Image.new("RGB", (SIDE, SIDE), (40, 90, 160))
    draw = ImageDraw.Draw(im)
    for i in range(0, SIDE, 1000):
        draw.ellipse((i, i, i + 3000, i + 2000), fill=(200, 50 + i % 200, 30))
    im.save(p8)
    del im, draw
    grey = Image.new("I;16", (SIDE, SIDE), 1000)
    draw = ImageDraw.Draw(grey)
    for i in range(0, SIDE, 1000):
        draw.rectangle((i, i, i + 3000, i + 2000), fill=40000)
    grey.save(p16)
    return p8, p16


# ---- the old way (before the budget), kept here as the baseline ---------------------------


def old_to_rgb(im):
    import numpy as np
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if im.mode.startswith("I;16"):
            lo, hi = 0.0, 65535.0
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def old_load_for_model(path, size=224, resize="squash"):
    from PIL import Image, ImageOps

    im = Image.open(path)
    if im.format == "JPEG":
        im.draft("RGB", (size, size))
    im.load()
    im = old_to_rgb(ImageOps.exif_transpose(im))
    if resize == "center_crop":
        return ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR)
    return im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)


def old_read_meta(path):
    from PIL import Image

    with Image.open(path) as im:
        im.getexif()
        return im.size


# ---- one case, in a child process -----------------------------------------------------------


def child(case: str, way: str, files: list[str], workers: int) -> dict:
    if case != "meta":
        import photocap.engine  # noqa: F401 - sets the OpenMP policy first, as the CLI does
    from photocap import imaging

    start = time.perf_counter()
    if case == "meta":
        for f in files:
            old_read_meta(f) if way == "old" else imaging.read_meta(f)
        results = ["ok"] * len(files)
    else:
        from photocap.engine import CaptionEngine
        from photocap.model import Captioner

        class OldEngine(CaptionEngine):
            def _load(self, path):
                pre = self.captioner.preprocess
                return old_load_for_model(path, pre.size, pre.resize)

        cls = OldEngine if way == "old" else CaptionEngine
        budget = imaging.MemoryBudget(2**62) if way == "old" else imaging.DECODE_BUDGET
        engine = cls(Captioner.tags_only(device="cpu"), batch_size=4, decode_workers=workers, memory_budget=budget)
        results = [
            item.description.text if item.ok else f"refused: {item.error.reason}"
            for item in engine.caption_paths(files)
        ]
    return {
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - start,
        "results": results,
        "budget_mb": imaging.DECODE_BUDGET.limit / 2**20,
    }


def run_child(case: str, way: str, files: list[Path], workers: int) -> dict:
    cmd = [sys.executable, __file__, "--child", case, way, "--workers", str(workers), *map(str, files)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=4, help="decoding threads (default 4)")
    ap.add_argument("--skip-old-four16", action="store_true", help="skip the ~10 GB baseline case")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "WAY"), help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.files, args.workers)))
        return

    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="photocap-mem-") as tmp:
        folder = Path(tmp)
        made = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                f"import decode_memory as d; from pathlib import Path; d.make_files(Path({tmp!r}))",
            ]
        )
        if made.returncode != 0:
            sys.exit("could not make the test files")
        p8, p16 = folder / "big8.png", folder / "big16.png"
        four8, four16 = [p8], [p16]
        for i in range(1, 4):
            for src, group in ((p8, four8), (p16, four16)):
                dst = folder / f"{src.stem}_{i}.png"
                dst.write_bytes(src.read_bytes())
                group.append(dst)
        print(
            f"files: {SIDE}x{SIDE} 8-bit RGB PNG {p8.stat().st_size / 1e3:.0f} KB, "
            f"16-bit grey PNG {p16.stat().st_size / 1e3:.0f} KB; {args.workers} decoding threads\n"
        )
        cases = [
            ("meta 8-bit", "meta", [p8]),
            ("caption 8-bit", "caption", [p8]),
            ("caption 16-bit", "caption", [p16]),
            ("caption 4x 8-bit", "caption", four8),
            ("caption 4x 16-bit", "caption", four16),
        ]
        print(f"{'case':20} {'old peak':>10} {'new peak':>10} {'new/old':>8} {'old s':>7} {'new s':>7}")
        budget = None
        for label, case, files in cases:
            skip_old = args.skip_old_four16 and label == "caption 4x 16-bit"
            old = {"error": "skipped"} if skip_old else run_child(case, "old", files, args.workers)
            new = run_child(case, "new", files, args.workers)
            budget = new.get("budget_mb", budget)

            def fmt(r: dict, key: str, unit: str, digits: int = 0) -> str:
                return f"{r[key]:,.{digits}f}{unit}" if key in r else r.get("error", "?")[:10]

            ratio = f"{new['peak_mb'] / old['peak_mb']:.2f}" if "peak_mb" in old and "peak_mb" in new else "-"
            print(
                f"{label:20} {fmt(old, 'peak_mb', ' MB'):>10} {fmt(new, 'peak_mb', ' MB'):>10} {ratio:>8} "
                f"{fmt(old, 'seconds', '', 1):>7} {fmt(new, 'seconds', '', 1):>7}"
            )
            refused = [r for r in new.get("results", []) if r.startswith("refused")]
            if refused:
                print(f"{'':20} new: {refused[0]}")
        print(
            f"\ndecoding budget (new): {budget:,.0f} MB; "
            f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )


if __name__ == "__main__":
    main()
