"""Search latency on a 100,000-photo library, against a LIKE scan, plus re-scan speed.

    python bench/search_latency.py                 # 100,000 photos, 10,000-file tree
    python bench/search_latency.py --photos 20000 --tree 2000 --reps 10   # quicker

What it does, all in one run on one machine so the ratios mean something:

1. builds a library of ``--photos`` rows with realistic generated captions, tags, file and
   folder names, dates and caption sources, through the real schema (so the FTS5
   triggers index every row as the app's writes would);
2. times ``Library.search(query, limit=50)`` (session, ranking, snippets: what the app
   pays) for a set of typical queries, ``--reps`` times each in shuffled order, and the
   same queries as ``caption LIKE '%word%'`` scans (newest first, limit 50) on the same
   table: the naive alternative;
3. writes a ``--tree``-file folder tree of small JPEGs, scans it once (everything new),
   then again unchanged, and reports files/s for both.

Prints a table; figures go to docs/notes-library.md by hand, with ``uptime``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photocap.ingest import scan
from photocap.library import PhotoFilter, open_library
from photocap.library.fts import parse_query
from photocap.library.schema import Photo

SUBJECTS = [
    "a dog",
    "two dogs",
    "a cat",
    "a little girl",
    "a young boy",
    "two children",
    "an old man",
    "a woman",
    "a group of people",
    "a man",
    "a horse",
    "a bird",
    "a red car",
    "a yellow bus",
    "a boat",
    "a bicycle",
    "a plate of food",
    "a cup of coffee",
    "a birthday cake",
    "a family",
    "a couple",
    "a baby",
    "a surfer",
    "a skier",
    "a train",
    "a tall building",
    "a bridge",
    "a lighthouse",
    "sheep",
    "a cow",
]
ACTIONS = [
    "running",
    "sitting",
    "standing",
    "playing",
    "walking",
    "lying",
    "eating",
    "jumping",
    "smiling",
    "posing",
    "parked",
    "waiting",
    "swimming",
    "riding a bike",
    "reading a book",
    "",
    "",
    "",
]
PLACES = [
    "on the beach",
    "in a park",
    "on a city street",
    "in the snow",
    "in a kitchen",
    "near a lake",
    "in front of a building",
    "on a mountain trail",
    "at a birthday party",
    "in a garden",
    "on a sofa",
    "in a forest",
    "at the zoo",
    "on a boat",
    "at the station",
    "in a field",
    "by the river",
    "at a wedding",
    "in the living room",
    "on a bridge",
]
EXTRAS = [
    "at sunset",
    "in the rain",
    "with a ball",
    "with a red umbrella",
    "under a blue sky",
    "at night",
    "in autumn",
    "with friends",
    "in black and white",
    "",
    "",
    "",
    "",
    "",
]
TAGS = [
    "dog",
    "cat",
    "person",
    "beach",
    "car",
    "bus",
    "boat",
    "bicycle",
    "food",
    "cake",
    "snow",
    "tree",
    "water",
    "mountain",
    "building",
    "sky",
    "grass",
    "horse",
    "bird",
    "sheep",
    "train",
    "bridge",
    "umbrella",
    "ball",
]
ALBUMS = [
    "Holidays",
    "Family",
    "Birthday",
    "Weekend",
    "Trip to Italy",
    "Christmas",
    "Garden",
    "Work",
    "Misc",
    "Wedding",
    "School",
    "Hiking",
]

QUERIES = [
    "dog",
    "beach",
    "dogs beach",
    '"on the beach"',
    "sunset",
    "birthday party",
    "red car",
    "snow*",
    "children -dog",
    "mountain lake",
    "coffee",
    "bicycle street",
    "italy",
    "a",
    "xylophone",
]


# searches with filters, shown apart
FILTERED = [
    ("dog", "taken 2015-2016", PhotoFilter(taken_from=dt.date(2015, 1, 1), taken_to=dt.date(2016, 12, 31))),
    ("beach", "edited by me", PhotoFilter(sources=("user",))),
    ("dog", "needs review", PhotoFilter(needs_review=True)),
    ("sunset", "folder 2012", PhotoFilter(folder="/bench/Pictures/2012")),
]


def caption(rnd: random.Random) -> str:
    parts = [rnd.choice(SUBJECTS), rnd.choice(ACTIONS), rnd.choice(PLACES), rnd.choice(EXTRAS)]
    return " ".join(p for p in parts if p)


def build_library(path: Path, n: int, seed: int = 1):
    rnd = random.Random(seed)
    lib = open_library(path)
    start = dt.datetime(2010, 1, 1)
    t0 = time.perf_counter()
    batch = []
    for i in range(n):
        year = 2010 + i * 15 // n
        album = rnd.choice(ALBUMS)
        name = f"IMG_{i:06d}.jpg"
        source = rnd.choices(["model", "tags", "user", None], [80, 10, 5, 5])[0]
        text_ = caption(rnd) if source else None
        tags = " ".join(rnd.sample(TAGS, 3)) if source in ("model", "tags") else ""
        batch.append(
            dict(
                path=f"/bench/Pictures/{year}/{album}/{name}",
                name=name,
                folder_name=f"Pictures / {year} / {album}",
                size=2_000_000 + i,
                mtime_ns=i,
                identity=f"{i:032x}",
                width=4000,
                height=3000,
                format="JPEG",
                taken_at=start + dt.timedelta(minutes=i * 79),
                status="ok",
                added_at=start,
                updated_at=start,
                caption=text_,
                caption_source=source,
                caption_model="m1" if source in ("model", "tags") else None,
                caption_stale=False,
                reviewed=source == "user",
                tags_text=tags,
            )
        )
        if len(batch) == 5000:
            with lib.writing() as s:
                s.execute(insert(Photo), batch)
            batch = []
    if batch:
        with lib.writing() as s:
            s.execute(insert(Photo), batch)
    with lib.writing() as s:
        s.execute(text("INSERT INTO photo_fts(photo_fts) VALUES ('optimize')"))
    return lib, time.perf_counter() - t0


def like_sql(query: str) -> tuple[str, dict]:
    """The naive alternative: every word as caption LIKE '%word%' (NOT LIKE for -word), newest first."""
    params, where = {}, []
    q = parse_query(query)
    for i, term in enumerate(_terms(q.match)):
        params[f"w{i}"] = f"%{term}%"
        where.append(f"caption LIKE :w{i}")
    for i, term in enumerate(_terms(q.exclude)):
        params[f"x{i}"] = f"%{term}%"
        where.append(f"caption NOT LIKE :x{i}")
    sql = (
        "SELECT id, path, caption FROM photos WHERE status != 'missing' AND "
        + " AND ".join(where or ["1"])
        + " ORDER BY taken_at DESC LIMIT 50"
    )
    return sql, params


def _terms(expr: str | None) -> list[str]:
    if not expr:
        return []
    return list(expr.replace(" *", "").split('"')[1::2])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def bench_search(lib, reps: int, seed: int = 2):
    rnd = random.Random(seed)
    fts: dict[str, list[float]] = {q: [] for q in QUERIES}
    like: dict[str, list[float]] = {q: [] for q in QUERIES}
    hits: dict[str, int] = {}
    for q in QUERIES:  # warm the page cache for both
        hits[q] = len(lib.search(q, limit=50))
        with lib.reading() as s:
            s.execute(text(like_sql(q)[0]), like_sql(q)[1]).all()
    order = [q for q in QUERIES for _ in range(reps)]
    rnd.shuffle(order)
    for q in order:
        t = time.perf_counter()
        lib.search(q, limit=50)
        fts[q].append((time.perf_counter() - t) * 1000)
        sql, params = like_sql(q)
        t = time.perf_counter()
        with lib.reading() as s:
            s.execute(text(sql), params).all()
        like[q].append((time.perf_counter() - t) * 1000)
    filtered = []
    for q, label, flt in FILTERED:
        lib.search(q, flt)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            n = len(lib.search(q, flt, limit=50))
            times.append((time.perf_counter() - t) * 1000)
        filtered.append((f"{q} [{label}]", n, times))
    return fts, like, hits, filtered


def bench_grid(lib, reps: int) -> list[tuple[str, float, float]]:
    """The calls a photo grid and the caption queue make, on the same library."""
    ids = lib.list_photo_ids(limit=5000)
    calls = [
        ("list_photo_ids() all, by date", lambda: lib.list_photo_ids()),
        (
            "list_photo_ids(-taken, offset 50000, limit 200)",
            lambda: lib.list_photo_ids(order="-taken", offset=50000, limit=200),
        ),
        ("count_photos(needs review)", lambda: lib.count_photos(PhotoFilter(needs_review=True))),
        ("photos_by_ids(200)", lambda: lib.photos_by_ids(ids[1000:1200])),
        (
            "photos_needing_caption(new model, 64, first_ids=200)",
            lambda: lib.photos_needing_caption("m2", limit=64, first_ids=ids[3000:3200]),
        ),
        ("photo_detail", lambda: lib.photo_detail(ids[7])),
    ]
    out = []
    for name, fn in calls:
        fn()
        times = []
        for _ in range(max(5, reps // 3)):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        out.append((name, pct(times, 50), pct(times, 95)))
    return out


def bench_scan(root: Path, n: int, lib_path: Path):
    rnd = random.Random(3)
    samples = []
    for _ in range(16):
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))).save(buf, "JPEG")
        samples.append(buf.getvalue())
    for i in range(n):
        d = root / f"{2010 + i % 12}" / f"album{i % 40:02d}"
        if i < 480:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"IMG_{i:05d}.jpg").write_bytes(samples[i % 16] + i.to_bytes(4, "little"))  # bytes after EOI: unique
    with open_library(lib_path) as lib:
        folder = lib.add_folder(root)
        first = scan(lib, folder.id)
        second = scan(lib, folder.id)
    assert first.added == n and second.unchanged == n, (first, second)
    return first, second


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--tree", type=int, default=10_000, help="files in the scan tree (0: skip)")
    ap.add_argument("--reps", type=int, default=30, help="timed runs per query")
    ap.add_argument("--dir", help="work folder (default: a temporary one, deleted afterwards)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        lib, build_s = build_library(tmp / "bench.sqlite", args.photos)
        size_mb = (tmp / "bench.sqlite").stat().st_size / 1e6
        print(
            f"library: {args.photos:,} photos built in {build_s:.1f} s ({args.photos / build_s:,.0f} rows/s "
            f"with FTS triggers), file {size_mb:.0f} MB"
        )
        fts, like, hits, filtered = bench_search(lib, args.reps)
        grid = bench_grid(lib, args.reps)
        lib.close()
        print(f"\n{'query':<18}{'hits':>6}{'FTS p50':>10}{'FTS p95':>10}{'LIKE p50':>10}{'LIKE p95':>10}{'ratio':>8}")
        for q in QUERIES:
            f50, f95, l50, l95 = pct(fts[q], 50), pct(fts[q], 95), pct(like[q], 50), pct(like[q], 95)
            print(f"{q:<18}{hits[q]:>6}{f50:>9.2f} {f95:>9.2f} {l50:>9.2f} {l95:>9.2f} {l50 / f50:>7.1f}x")
        all_f = [v for vs in fts.values() for v in vs]
        all_l = [v for vs in like.values() for v in vs]
        print(
            f"{'all queries':<24}{pct(all_f, 50):>9.2f} {pct(all_f, 95):>9.2f} {pct(all_l, 50):>9.2f} "
            f"{pct(all_l, 95):>9.2f} {pct(all_l, 50) / pct(all_f, 50):>7.1f}x   (ms; ratio = LIKE p50 / FTS p50)"
        )
        print(
            f"search p95 {pct(all_f, 95):.2f} ms (target <= 10 ms); LIKE p95 {pct(all_l, 95):.2f} ms, "
            f"{pct(all_l, 95) / pct(all_f, 95):.1f}x slower"
        )
        print("\nwith filters:")
        for label, n, times in filtered:
            print(f"  {label:<28}{n:>6} hits  p50 {pct(times, 50):.2f} ms  p95 {pct(times, 95):.2f} ms")
        print("\ngrid and caption-queue calls:")
        for name, p50, p95 in grid:
            print(f"  {name:<55} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
        if args.tree:
            first, second = bench_scan(tmp / "tree", args.tree, tmp / "scan.sqlite")
            print(
                f"\nscan of a {args.tree:,}-file tree: first {first.seconds:.2f} s "
                f"({args.tree / first.seconds:,.0f} files/s, every file read), second (unchanged) "
                f"{second.seconds:.3f} s ({args.tree / second.seconds:,.0f} files/s, nothing read)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
