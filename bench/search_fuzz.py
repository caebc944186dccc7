"""Fuzzed search queries on a 100,000-photo library: latency before and after, same run.

    python bench/search_fuzz.py                        # 100,000 photos, 2,000 queries
    python bench/search_fuzz.py --photos 20000 --queries 500        # quicker
    python bench/search_fuzz.py --keep /tmp/fuzz.sqlite              # keep (and reuse) the library

What it does, in one run on one machine so the ratio means something:

1. builds a library of ``--photos`` generated photos (``search_latency.build_library``: real
   schema, FTS5 triggers, the current migrations, so with the prefix index of 0004), and a
   copy whose index is the one before 0004 (no prefix index);
2. generates ``--queries`` queries from a seeded generator (:func:`fuzz_queries`): typical
   searches (words of the captions, tags and names with phrases, prefixes, exclusions, OR),
   search-as-you-type prefixes of 1-3 letters, any Python ``str`` (lone surrogates, NUL,
   control characters, emoji, up to 300 characters), and pathological ones (a word, a
   prefix or "word OR" repeated up to 1,000 times, many distinct prefixes, 20,000
   characters);
3. BEFORE: each query through the original query parser (kept below, verbatim) on the copy
   without the prefix index, the way photocap searched before; a query that raises is
   counted, one that runs longer than ``--before-cap-ms`` is interrupted there and counted
   at the cap (so BEFORE's tail figures are lower bounds);
4. AFTER: each query through ``Library.search`` as it is now;
5. prints p50/p95/p99/max for both, the worst queries, the single-letter prefixes apart
   (search-as-you-type's first keystroke), and the targets: every query <= 100 ms, p95 <=
   20 ms, a single letter <= 30 ms.

Every search is ``limit=50`` (a page), as in ``search_latency.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_latency import ACTIONS, ALBUMS, EXTRAS, PLACES, SUBJECTS, TAGS, build_library, pct

from photocap.library import SearchError, open_library
from photocap.library import search as search_mod
from photocap.library.fts import FtsQuery

VOCAB = sorted(
    {w for phrase in SUBJECTS + ACTIONS + PLACES + EXTRAS + TAGS + ALBUMS for w in phrase.lower().split()}
    | {"img", "jpg", "pictures", "2012", "2019", "xylophone", "zebra", "café", "naïve"}
)


# ---- the query parser before issue 15, verbatim (the BEFORE baseline) ---------------------------
_OLD_TERM = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))(\*?)')


def _old_quote(text: str, prefix: bool) -> str:
    text = " ".join(text.split())
    return '"' + text.replace('"', '""') + '"' + (" *" if prefix else "")


def old_parse_query(text: str) -> FtsQuery:
    text = (text or "").replace("\x00", " ")
    groups: list[list[str]] = []
    excluded: list[str] = []
    pending_or = False
    for m in _OLD_TERM.finditer(text):
        neg, phrase, word, star = m.groups()
        raw = phrase if phrase is not None else word
        if word is not None and word.endswith("*"):
            raw, star = word.rstrip("*"), "*"
        if phrase is None and raw == "OR" and not neg:
            pending_or = bool(groups)
            continue
        if not any(ch.isalnum() for ch in raw):
            continue
        term = _old_quote(raw, bool(star))
        if neg:
            excluded.append(term)
        elif pending_or and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    match = " AND ".join(g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups) or None
    exclude = " OR ".join(excluded) or None
    return FtsQuery(match, exclude)


# ---- the fuzzed queries ---------------------------------------------------------------------------
def _any_char(rnd: random.Random) -> str:
    kind = rnd.random()
    if kind < 0.35:
        return rnd.choice(string.ascii_letters + string.digits + ' "*-()^:')
    if kind < 0.5:
        return chr(rnd.randrange(0xD800, 0xE000))  # a lone surrogate
    if kind < 0.6:
        return chr(rnd.randrange(0, 0x20))  # control characters, NUL included
    if kind < 0.8:
        return chr(rnd.randrange(0x80, 0x3000))
    return chr(rnd.randrange(0x1F300, 0x1FAFF))  # emoji


def _word(rnd: random.Random) -> str:
    w = rnd.choice(VOCAB)
    return w.capitalize() if rnd.random() < 0.1 else w


def _typical(rnd: random.Random) -> str:
    terms = []
    for _ in range(rnd.choice([1, 1, 2, 2, 2, 3, 3, 4, 5])):
        r = rnd.random()
        if r < 0.12:
            terms.append('"' + " ".join(_word(rnd) for _ in range(rnd.randint(2, 4))) + '"')
        elif r < 0.3:
            w = _word(rnd)
            terms.append(w[: rnd.randint(1, max(1, len(w)))] + "*")
        elif r < 0.4:
            terms.append("-" + _word(rnd))
        elif r < 0.5 and terms:
            terms.append("OR " + _word(rnd))
        else:
            terms.append(_word(rnd))
    return " ".join(terms)


def _pathological(rnd: random.Random) -> str:
    n = rnd.choice([10, 50, 100, 400, 800, 1000])
    kind = rnd.randrange(7)
    if kind == 0:
        return (_word(rnd) + " ") * n
    if kind == 1:
        return (rnd.choice(string.ascii_lowercase) + "* ") * n
    if kind == 2:
        return (_word(rnd) + " OR ") * n
    if kind == 3:
        return " ".join(rnd.choice(VOCAB)[: rnd.randint(1, 3)] + "*" for _ in range(n))
    if kind == 4:
        return " ".join(_word(rnd) for _ in range(n))
    if kind == 5:
        return "".join(rnd.choice(string.ascii_lowercase + "  ") for _ in range(20_000))
    return " OR ".join(_word(rnd) for _ in range(n))


def fuzz_queries(n: int, seed: int = 15) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.55:
            out.append(_typical(rnd))
        elif r < 0.7:
            out.append(_word(rnd)[: rnd.randint(1, 3)] + "*")  # search-as-you-type
        elif r < 0.92:
            out.append("".join(_any_char(rnd) for _ in range(rnd.randint(0, 300))))
        else:
            out.append(_pathological(rnd))
    return out


# ---- timing ---------------------------------------------------------------------------------------
def drop_prefix_index(path: Path) -> None:
    """The index as migration 0003 made it (what photocap had before 0004)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'photo_fts'").fetchone()[0]
        conn.execute("BEGIN")
        conn.execute("DROP TABLE photo_fts")
        conn.execute(sql.replace("prefix='1 2 3', ", ""))
        conn.execute("INSERT INTO photo_fts(photo_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO photo_fts(photo_fts) VALUES ('optimize')")
        conn.execute("COMMIT")
    finally:
        conn.close()


def used_mb(path: Path) -> float:
    conn = sqlite3.connect(path)
    try:
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size")
        )
        return (pages - free) * size / 1e6
    finally:
        conn.close()


def time_before(lib, queries: list[str], cap_ms: float) -> tuple[list[float], list[float], int, int]:
    """(wall ms, CPU ms per query, how many raised, how many hit the cap) with the old parser."""
    times, cpu, raised, capped = [], [], 0, 0
    original = search_mod.parse_query
    search_mod.parse_query = old_parse_query
    try:
        for q in queries:
            deadline = time.perf_counter() + cap_ms / 1000
            t, c = time.perf_counter(), time.thread_time()
            try:
                lib.search(q, limit=50, should_stop=lambda: time.perf_counter() > deadline)  # noqa: B023 (used in this turn)
            except search_mod.SearchCancelled:
                capped += 1
            except (UnicodeEncodeError, SearchError):
                raised += 1
            times.append(min(cap_ms, (time.perf_counter() - t) * 1000))
            cpu.append(min(cap_ms, (time.thread_time() - c) * 1000))
    finally:
        search_mod.parse_query = original
    return times, cpu, raised, capped


def time_after(lib, queries: list[str]) -> tuple[list[float], list[float], int]:
    times, cpu, raised = [], [], 0
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        try:
            lib.search(q, limit=50)
        except Exception:
            raised += 1
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    return times, cpu, raised


def dist(times: list[float]) -> str:
    return f"p50 {pct(times, 50):8.2f}  p95 {pct(times, 95):8.2f}  p99 {pct(times, 99):8.2f}  max {max(times):9.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--before-cap-ms", type=float, default=1000.0, help="interrupt a BEFORE query after this long")
    ap.add_argument("--keep", metavar="FILE", help="build the library here once and reuse it on later runs")
    args = ap.parse_args()
    queries = fuzz_queries(args.queries, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lib_path = Path(args.keep) if args.keep else tmp / "fuzz.sqlite"
        print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        if not lib_path.exists():
            lib, build_s = build_library(lib_path, args.photos)
            lib.close()
            print(f"library: {args.photos:,} photos built in {build_s:.1f} s")
        old_path = tmp / "before.sqlite"
        shutil.copyfile(lib_path, old_path)
        drop_prefix_index(old_path)
        print(
            f"library file {used_mb(lib_path):.0f} MB in use with the prefix index, {used_mb(old_path):.0f} MB without"
        )
        with open_library(old_path) as lib:  # the schema is at head, only the index differs
            before, before_cpu, raised_before, capped = time_before(lib, queries, args.before_cap_ms)
        with open_library(lib_path) as lib:
            for q in queries[:50]:  # warm the page cache, as BEFORE's first queries did for it
                lib.search(q, limit=50)
            after, after_cpu, raised_after = time_after(lib, queries)
            letters, letters_cpu = [], []
            for ch in string.ascii_lowercase + string.digits:
                lib.search(ch + "*")
                t, c = time.perf_counter(), time.thread_time()
                lib.search(ch + "*", limit=50)
                letters.append((time.perf_counter() - t) * 1000)
                letters_cpu.append((time.thread_time() - c) * 1000)
        print(f"load average after: {os.getloadavg()[0]:.2f}\n")
        print(f"{len(queries):,} fuzzed queries (seed {args.seed}), limit 50:")
        print(f"  BEFORE  {dist(before)}   {raised_before} raised, {capped} interrupted at {args.before_cap_ms:.0f} ms")
        print(f"  AFTER   {dist(after)}   {raised_after} raised")
        print("  CPU time of the searching thread (less inflated by other programs' load):")
        print(f"  BEFORE  {dist(before_cpu)}")
        print(f"  AFTER   {dist(after_cpu)}")
        print(
            f"  wall-clock ratio   p50 {pct(before, 50) / pct(after, 50):.1f}x  "
            f"p95 {pct(before, 95) / pct(after, 95):.1f}x  "
            f"p99 {pct(before, 99) / pct(after, 99):.1f}x  max {max(before) / max(after):.1f}x (BEFORE / AFTER)"
        )
        print(
            f"  single-letter prefixes a*..z*, 0*..9* AFTER: p50 {pct(letters, 50):.2f} ms, max {max(letters):.2f} ms "
            f"(CPU p50 {pct(letters_cpu, 50):.2f} ms, max {max(letters_cpu):.2f} ms)"
        )
        over = sum(t > 100 for t in after)
        print(
            f"  targets (wall clock): max <= 100 ms: {'met' if over == 0 else f'{over} over'}; p95 <= 20 ms: "
            f"{'met' if pct(after, 95) <= 20 else 'not met'}; single letter <= 30 ms: "
            f"{'met' if max(letters) <= 30 else 'not met'}"
        )
        print("\n  slowest AFTER:")
        for t, q in sorted(zip(after, queries), reverse=True)[:5]:
            print(f"    {t:8.2f} ms  {q[:60]!a}{'...' if len(q) > 60 else ''} ({len(q):,} chars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
