"""Wall time of a cold ``photocap search`` (a new process each time), against the interpreter alone.

    python bench/cli_cold_search.py              # 5 runs each, a 2,000-photo library
    python bench/cli_cold_search.py --runs 9 --photos 20000

A new Python process per call is what a user (or a script) pays at the shell: interpreter
start, imports, opening the library, the query, printing. The baseline in the same run is
``python -c pass`` (the interpreter alone), so the ratio says how much photocap adds on
top of Python whatever the machine's load. Three searches:

* words: a library without sentence vectors (found by words only);
* ``--words-only`` on a library with sentence vectors;
* by meaning (the default) on that library: the query embedded by the sentence model.

Also prints ``-X importtime``'s biggest top-level imports of each, to see where the time goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(path: Path, n: int) -> None:
    from sqlalchemy import insert

    from photocap.library import open_library
    from photocap.library.schema import Photo

    words = ["dog", "cat", "boat", "beach", "mountain", "lake", "red", "car", "tree", "child", "kite", "sunset"]
    with open_library(path) as lib, lib.writing() as s:
        rows = [
            {
                "path": f"/photos/{i // 100}/img_{i:06d}.jpg",
                "name": f"img_{i:06d}.jpg",
                "folder_name": str(i // 100),
                "size": 1000 + i,
                "mtime_ns": i,
                "identity": f"{i:040x}",
                "status": "ok",
                "caption": f"a {words[i % 12]} and a {words[(i * 7) % 12]} by the {words[(i * 5) % 12]}",
                "caption_source": "model",
                "caption_model": "m",
                "caption_stale": False,
                "reviewed": False,
                "tags_text": words[i % 12],
            }
            for i in range(n)
        ]
        s.execute(insert(Photo), rows)


def add_vectors(path: Path, n: int) -> None:
    """Random unit sentence vectors for every photo (the search's cost does not depend on their values)."""
    import numpy as np

    from photocap.library import open_library
    from photocap.library.vectors import to_blob
    from photocap.model.sentence import DIM, MODEL_ID

    rng = np.random.default_rng(1)
    with open_library(path) as lib, lib.writing_sql() as conn:
        conn.executemany(
            "INSERT INTO text_vectors (photo_id, model_id, vector) VALUES (?, ?, ?)",
            [(i + 1, MODEL_ID, to_blob(rng.standard_normal(DIM))) for i in range(n)],
        )


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the child: less sensitive to the machine's load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--photos", type=int, default=2000)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are cached after the first run
    with tempfile.TemporaryDirectory() as tmp:
        plain, meaning = Path(tmp) / "words.sqlite", Path(tmp) / "meaning.sqlite"
        build(plain, args.photos)
        build(meaning, args.photos)
        add_vectors(meaning, args.photos)
        base = [sys.executable, "-c", "pass"]
        cases = {
            "words (no vectors)": ["search", "dog", "beach", "--library", str(plain)],
            "--words-only": ["search", "dog", "beach", "--words-only", "--library", str(meaning)],
            "by meaning": ["search", "dog", "beach", "--library", str(meaning)],
        }
        print(f"library: {args.photos} photos; {args.runs} runs each, median (min-max); load {os.getloadavg()[0]:.1f}")
        for name, argv in cases.items():
            search = [sys.executable, "-m", "photocap", *argv]
            timed(search, env)  # the page cache warm for the files (and the model's cache), as on a second call
            runs = [(timed(base, env), timed(search, env)) for _ in range(args.runs)]
            print(f"\n{name}: photocap {' '.join(argv[:-2])}")
            for label, pick in (("wall", 0), ("cpu ", 1)):
                py = [b[pick] for b, _ in runs]
                se = [s[pick] for _, s in runs]
                mp, ms = statistics.median(py), statistics.median(se)
                print(
                    f"  {label} python -c pass {mp * 1000:6.0f} ms ({min(py) * 1000:.0f}-{max(py) * 1000:.0f})   "
                    f"photocap {ms * 1000:6.0f} ms ({min(se) * 1000:.0f}-{max(se) * 1000:.0f})   "
                    f"= {ms / mp:.1f}x the bare interpreter"
                )
            out = subprocess.run(
                [sys.executable, "-X", "importtime", *search[1:]], env=env, capture_output=True, text=True
            )
            tops = []
            for line in out.stderr.splitlines():
                parts = line.split("|")
                if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
                    tops.append((int(parts[1]), parts[2].strip()))
            print(
                "  largest top-level imports (cumulative ms):",
                ", ".join(f"{name} {us / 1000:.0f}" for us, name in sorted(tops, reverse=True)[:5]),
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
