"""What reading other apps' descriptions costs a scan, and how the readers compare.

    python bench/metadata_scan.py                 # 2,000 photos
    python bench/metadata_scan.py --photos 500    # quicker

All in one run, on one machine:

1. writes ``--photos`` real JPEGs (1600x1200, camera-like EXIF), a quarter of them with an
   XMP sidecar (digiKam style), an eighth with an embedded XMP description, an eighth with
   Google Takeout JSON;
2. scans the tree into a new library twice, in alternating order, once with the metadata
   reader switched off (the baseline: what a scan cost before) and once with it on, and
   reports files/s and the cost per photo;
3. times the readers alone, per photo: ``photocap.metadata.read_descriptions`` (Pillow
   header + defusedxml) against pyexiv2 reading EXIF, IPTC and XMP of the same file
   (what a scan would pay for a full exiv2 read);
4. rescans the unchanged tree with sidecars present (the cost of noticing sidecar changes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photocap import metadata
from photocap.ingest import scan
from photocap.library import open_library

SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:digiKam="http://www.digikam.org/ns/1.0/">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Photo {i} by the lake</rdf:li></rdf:Alt></dc:description>
<digiKam:TagsList><rdf:Seq><rdf:li>Places/Lake</rdf:li></rdf:Seq></digiKam:TagsList>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def make_tree(root: Path, n: int) -> None:
    base = Image.effect_noise((1600, 1200), 40).convert("RGB")
    for i in range(n):
        folder = root / f"album{i // 250:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / f"IMG_{i:05d}.jpg"
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "OLYMPUS IMAGING CORP.", "E-M10"
        exif[0x010E] = "OLYMPUS DIGITAL CAMERA"
        kwargs = {"exif": exif, "quality": 85}
        if i % 8 == 1:
            kwargs["xmp"] = SIDECAR.format(i=i).encode()
        base.putpixel((i % 1600, 0), (i % 256, 0, 0))
        base.save(p, **kwargs)
        if i % 4 == 0:
            (folder / f"IMG_{i:05d}.jpg.xmp").write_text(SIDECAR.format(i=i))
        elif i % 8 == 3:
            (folder / f"IMG_{i:05d}.jpg.json").write_text(f'{{"description": "Takeout {i}"}}')


def scan_once(root: Path, db: Path, with_metadata: bool) -> tuple[float, int]:
    real = metadata.read_descriptions
    if not with_metadata:
        metadata.read_descriptions = lambda path: None  # type: ignore[assignment]
    try:
        with open_library(db) as lib:
            lib.add_folder(root)
            t = time.perf_counter()
            report = scan(lib, root)
            dt = time.perf_counter() - t
            imported = lib.count_photos() and len(lib.export_captions(("imported",)))
        return dt, imported if with_metadata else report.added
    finally:
        metadata.read_descriptions = real  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Pictures"
        t = time.perf_counter()
        make_tree(root, args.photos)
        print(f"tree of {args.photos} photos written in {time.perf_counter() - t:.1f} s")
        off, on = [], []
        imported = 0
        for rep in range(args.reps):
            for with_md in (False, True) if rep % 2 == 0 else (True, False):
                db = Path(tmp) / f"lib-{rep}-{int(with_md)}.sqlite"
                dt, n = scan_once(root, db, with_md)
                (on if with_md else off).append(dt)
                if with_md:
                    imported = n
        n = args.photos
        b, m = statistics.median(off), statistics.median(on)
        print(f"first scan, metadata reader off (baseline): {n / b:8.0f} files/s  ({b * 1000 / n:.2f} ms/photo)")
        print(
            f"first scan, metadata reader on:             {n / m:8.0f} files/s  ({m * 1000 / n:.2f} ms/photo)"
            f"  = {b / m:.2f}x the baseline's speed; +{(m - b) * 1000 / n:.2f} ms/photo; {imported} imported"
        )

        files = sorted(root.rglob("*.jpg"))[:300]
        t = time.perf_counter()
        for f in files:
            metadata.read_descriptions(f)
        ours = (time.perf_counter() - t) / len(files)
        try:
            import pyexiv2

            t = time.perf_counter()
            for f in files:
                img = pyexiv2.Image(str(f))
                img.read_exif(), img.read_iptc(), img.read_xmp()
                img.close()
            exiv = (time.perf_counter() - t) / len(files)
            print(
                f"reader alone: photocap.metadata {ours * 1000:.2f} ms/photo; pyexiv2 (EXIF+IPTC+XMP) "
                f"{exiv * 1000:.2f} ms/photo = {exiv / ours:.1f}x"
            )
        except ImportError:
            print(f"reader alone: photocap.metadata {ours * 1000:.2f} ms/photo (pyexiv2 not installed)")

        with open_library(Path(tmp) / "lib-0-1.sqlite") as lib:
            t = time.perf_counter()
            report = scan(lib, root)
            dt = time.perf_counter() - t
        print(
            f"rescan of the unchanged tree (sidecars checked from the listing): {n / dt:8.0f} files/s, "
            f"{report.updated} re-read"
        )


if __name__ == "__main__":
    main()
