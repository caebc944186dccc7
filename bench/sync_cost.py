"""What ``synchronous=FULL`` costs against ``NORMAL`` (WAL mode), for the library's own writes.

    python bench/sync_cost.py                  # in a temp folder on the disk /tmp is on
    python bench/sync_cost.py --dir ~/x        # on the disk where your library lives

FULL syncs the WAL at every commit, so a committed caption edit survives a power cut;
NORMAL syncs only at checkpoints, so the last commits can be lost. What each write costs,
same run, same disk, alternating the two modes so the machine's load hits both alike:

* ``edit``: one user caption edit (one transaction, what the window and ``photocap edit`` do);
* ``caption``: one automatic caption (one transaction per photo, what the caption pass does);
* ``scan``: 200 new photo rows in one transaction (what the scanner writes per chunk).

photocap uses FULL for the user's own writes and NORMAL for automatic ones (see
photocap/library/db.py); this measures both modes for every kind to show why.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from photocap.library import db
from photocap.library.schema import Photo


def rows(start: int, n: int) -> list[dict]:
    return [
        {
            "path": f"/p/{i:07d}.jpg",
            "name": f"{i:07d}.jpg",
            "folder_name": "p",
            "size": i,
            "mtime_ns": i,
            "identity": f"{i:040x}",
            "status": "ok",
            "caption_stale": False,
            "reviewed": False,
            "tags_text": "",
        }
        for i in range(start, start + n)
    ]


def one_round(folder: Path, mode: str, n: int) -> dict[str, float]:
    db.SYNC_USER = db.SYNC_AUTOMATIC = mode  # every write in this round
    path = folder / f"lib-{mode}-{time.monotonic_ns()}.sqlite"
    out = {}
    with db.open_library(path) as lib:
        t0 = time.perf_counter()
        for chunk in range(5):
            with lib.writing() as s:
                s.execute(insert(Photo), rows(chunk * 200, 200))
        out["scan"] = (time.perf_counter() - t0) / 5
        t0 = time.perf_counter()
        for pid in range(1, n + 1):
            lib.record_caption(pid, f"a dog on a beach number {pid}", "model", "m", tags=[("dog", 0.9)])
        out["caption"] = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for pid in range(1, n + 1):
            lib.set_user_caption(pid, f"my own words for photo {pid}")
        out["edit"] = (time.perf_counter() - t0) / n
    for p in folder.glob(path.name + "*"):
        p.unlink()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="folder for the test libraries (default: a temp folder)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--writes", type=int, default=200, help="edits and captions per round")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results: dict[str, list[dict[str, float]]] = {"NORMAL": [], "FULL": []}
        for _ in range(args.rounds):
            for mode in ("NORMAL", "FULL"):
                results[mode].append(one_round(Path(tmp), mode, args.writes))
    print(f"{args.rounds} rounds x {args.writes} edits/captions, 5 scan chunks of 200 rows; median per write")
    print(f"{'write':10} {'NORMAL':>10} {'FULL':>10} {'FULL/NORMAL':>12}")
    for key in ("edit", "caption", "scan"):
        normal = statistics.median(r[key] for r in results["NORMAL"]) * 1000
        full = statistics.median(r[key] for r in results["FULL"]) * 1000
        print(f"{key:10} {normal:8.2f} ms {full:8.2f} ms {full / normal:11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
