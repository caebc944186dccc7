"""What ingest costs (photocap.ingest: the scanner and the watcher's batches), against a rescan.

    python bench/ingest.py                  # 1,000 photos
    python bench/ingest.py --photos 300     # quicker

All in one run, on one machine:

1. writes ``--photos`` real JPEGs (1024x768, camera-like EXIF) in folders of 100;
2. scans the tree into two new libraries (every file's identity and header read), then rescans
   one of them unchanged (``stat`` only): files/s;
3. changes the tree as a user would (a quarter of the photos re-saved, a quarter renamed, a
   tenth deleted) and brings each library up to date, one way each: library A applies the
   batch a watcher reports (``apply_changes``, the Changes built as FolderWatcher emits them),
   library B rescans the tree (the baseline: what it costs without a watcher). Both must end
   with the same rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photocap.ingest import Change, apply_changes, scan
from photocap.library import PhotoFilter, open_library


def make_tree(root: Path, n: int) -> list[Path]:
    base = Image.effect_noise((1024, 768), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "OLYMPUS IMAGING CORP.", "E-M10"
    paths = []
    for i in range(n):
        p = root / f"album{i // 100:02d}" / f"IMG_{i:05d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        base.putpixel((i % 1024, 0), (i % 256, 0, 0))
        base.save(p, exif=exif, quality=85)
        paths.append(p)
    return paths


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=1000)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()}")
    n = args.photos
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Pictures"
        dt, paths = timed(lambda: make_tree(root, n))
        print(f"tree of {n} photos written in {dt:.1f} s")
        with open_library(Path(tmp) / "a.sqlite") as a, open_library(Path(tmp) / "b.sqlite") as b:
            fa, fb = a.add_folder(root), b.add_folder(root)
            first_a, _ = timed(lambda: scan(a, fa.id))
            first_b, _ = timed(lambda: scan(b, fb.id))
            again, report = timed(lambda: scan(b, fb.id))
            assert report.unchanged == n, report
            first = min(first_a, first_b)
            print(f"first scan:              {n / first:8.0f} files/s  ({first * 1000 / n:.2f} ms/photo)")
            print(f"rescan, unchanged tree:  {n / again:8.0f} files/s  = {first / again:.0f}x the first scan's speed")

            changes: list[Change] = []
            edited, renamed, deleted = paths[0::4], paths[1::4], paths[2::10]
            edit = Image.effect_noise((1024, 768), 60).convert("RGB")
            for i, p in enumerate(edited):  # re-saved by an editor: new content, same name
                edit.putpixel((i % 1024, 1), (0, i % 256, 0))
                edit.save(p, quality=80)
                changes.append(Change("modified", str(p)))
            for p in renamed:
                new = p.with_name("renamed-" + p.name)
                p.rename(new)
                changes.append(Change("moved", str(new), src=str(p)))
            for p in deleted:
                p.unlink()
                changes.append(Change("deleted", str(p)))
            watched, ra = timed(lambda: apply_changes(a, changes))
            rescanned, rb = timed(lambda: scan(b, fb.id))
            everything = PhotoFilter(include_missing=True)
            rows = [
                sorted((p.path, p.status) for p in lib.photos_by_ids(lib.list_photo_ids(everything))) for lib in (a, b)
            ]
            same = "same rows" if rows[0] == rows[1] else "ROWS DIFFER"
            print(
                f"{len(changes)} changes ({len(edited)} edited, {len(renamed)} renamed, {len(deleted)} deleted): "
                f"watcher batch {watched:.2f} s ({len(changes) / watched:.0f} changes/s; {ra.updated} updated, "
                f"{ra.moved} moved, {ra.missing} missing); rescan {rescanned:.2f} s ({rb.updated} updated, "
                f"{rb.moved} moved, {rb.missing} missing) = the batch is {rescanned / watched:.2f}x the rescan's "
                f"speed; {same}"
            )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
