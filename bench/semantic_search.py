"""Search by meaning and similar photos: latency at 100,000 photos, embedding speed, quality.

    python bench/semantic_search.py                       # 100,000 photos
    python bench/semantic_search.py --photos 20000 --reps 10 --skip-quality   # quicker

All in one run, so the ratios mean something on a busy machine:

1. **Latency**: the synthetic library of ``bench/search_latency.py`` (``--photos`` rows
   through the real schema), each photo given the sentence vector of one of
   ``--pool`` real embedded captions plus a little noise, and a random 1280-d image
   feature. Times ``Library.search`` words-only (FTS5) against the same query fused with
   meaning (query vector given; embedding the query is timed on its own), and
   ``similar_photos`` against a words-only search, ``--reps`` times each.
2. **Embedding throughput**: captions per second for the pool (all-MiniLM-L6-v2, CPU).
3. **Quality**: real photos (scikit-image's and the KDE wallpapers'), described by the
   default tagger as a new user's library would be, then a judged query set (general
   words, synonyms, sentences: which photos are relevant was decided by looking at the
   photos, not the captions); recall@5 for words-only against hybrid.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search_latency import QUERIES, build_library, caption, pct
from photocap.ingest import scan
from photocap.library import open_library, vectors
from photocap.library.schema import ImageFeature, TextVector
from photocap.library.vectors import to_blob

SENTENCES = [
    "a boat on a lake at sunset",
    "kids playing outside",
    "a kitty on the couch",
    "ocean waves",
    "a puppy in the snow",
]

# real photos: name -> where it comes from (a scikit-image function or a wallpaper folder)
SKIMAGE = [
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "clock",
    "coins",
    "moon",
    "grass",
    "gravel",
    "brick",
    "page",
    "text",
    "immunohistochemistry",
    "retina",
    "colorwheel",
]
WALLPAPERS = [
    "Autumn",
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
    "summer_1am",
    "Volna",
    "Altai",
    "Canopee",
    "Flow",
    "Kokkini",
    "Shell",
    "SafeLanding",
    "FlyingKonqui",
]
LAKES = {"BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "summer_1am"}
# query -> photos judged relevant by looking at them
JUDGED: dict[str, set[str]] = {
    # general words
    "animal": {"chelsea"},
    "pet": {"chelsea"},
    "boat": {"EveningGlow"},
    "water": LAKES | {"Volna"},
    "forest": {"Path", "OneStandsOut"},
    "drink": {"coffee"},
    "space": {"hubble_deep_field", "rocket", "astronaut"},
    "plant": {"OneStandsOut", "Path", "FallenLeaf", "grass"},
    # synonyms
    "kitty": {"chelsea"},
    "ocean": {"Volna"},
    "sea": {"Volna"},
    "lake": LAKES,
    "mug": {"coffee", "ColorfulCups"},
    "woods": {"Path", "OneStandsOut"},
    "money": {"coins"},
    "pier": {"BytheWater", "ColdRipple"},
    "timepiece": {"clock"},
    "galaxy": {"hubble_deep_field"},
    # sentences
    "a boat on a lake at sunset": {"EveningGlow"},
    "a cat sitting down": {"chelsea"},
    "a cup of coffee": {"coffee"},
    "a walk in the forest": {"Path"},
    "a kite flying in the sky": {"Kite"},
    "a rocket launch": {"rocket"},
    "waves on a sandy beach": {"Volna"},
    "autumn leaves on the ground": {"FallenLeaf"},
}


# ---- latency -----------------------------------------------------------------------------------
def add_vectors(lib, n: int, pool: np.ndarray, seed: int = 3) -> float:
    rnd = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for start in range(1, n + 1, 5000):
        ids = range(start, min(n, start + 4999) + 1)
        base = pool[rnd.integers(0, len(pool), len(ids))] + rnd.normal(0, 0.02, (len(ids), pool.shape[1]))
        feats = np.maximum(rnd.normal(0.3, 0.5, (len(ids), 1280)), 0)
        with lib.writing() as s:
            s.execute(
                insert(TextVector),
                [dict(photo_id=i, model_id="all-MiniLM-L6-v2", vector=to_blob(v)) for i, v in zip(ids, base)],
            )
            s.execute(
                insert(ImageFeature),
                [dict(photo_id=i, encoder_id="bench", vector=to_blob(f)) for i, f in zip(ids, feats)],
            )
    return time.perf_counter() - t0


def timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def scan_recall(lib, queries: list[np.ndarray]) -> str:
    """How many of the exact nearest captions (every vector compared) the search's scan finds."""
    with lib.reading_sql() as conn:
        m = lib._vectors.matrix(conn, "text_vectors", "all-MiniLM-L6-v2")
    every = m.exact.astype(np.float32)
    found = {50: [], 200: []}
    for q in queries:
        q = q / np.linalg.norm(q)
        truth = m.ids[np.argsort(-(every @ q), kind="stable")[:200]]
        got = [pid for pid, _ in m.nearest(q, 200)]
        for k, xs in found.items():
            xs.append(len(set(got[:k]) & set(truth[:k].tolist())) / k)
    groups = "every row read" if m.centres is None else f"{len(m.centres)} groups, {vectors.SCAN_FRACTION:.0%} read"
    return f"nearest captions found by the scan ({groups}), of the exact nearest: " + ", ".join(
        f"top {k} {np.mean(xs):.1%} (worst query {min(xs):.0%})" for k, xs in found.items()
    )


def bench_latency(args, embedder) -> None:
    rnd = random.Random(5)
    pool_texts = list(dict.fromkeys(caption(rnd) for _ in range(args.pool * 2)))[: args.pool]
    t0 = time.perf_counter()
    pool = embedder.embed(pool_texts)
    rate = len(pool_texts) / (time.perf_counter() - t0)
    print(
        f"embedding throughput: {rate:.0f} captions/s ({len(pool_texts)} captions, batch 32, "
        f"{os.cpu_count()} CPUs, numpy)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        lib, build_s = build_library(Path(tmp, "bench.sqlite"), args.photos)
        vec_s = add_vectors(lib, args.photos, pool)
        print(f"library: {args.photos:,} photos built in {build_s:.0f} s, vectors added in {vec_s:.0f} s")
        t0 = time.perf_counter()
        lib.search("dog", query_vector=pool[0], vector_model="all-MiniLM-L6-v2")
        print(f"first hybrid search (loads {args.photos:,} vectors into memory): {time.perf_counter() - t0:.2f} s")
        lib.similar_photos(1, 50)
        print(scan_recall(lib, [embedder.embed([q])[0] for q in QUERIES + SENTENCES]))
        queries = QUERIES + SENTENCES
        qvecs = {q: embedder.embed([q])[0] for q in queries}
        embed_ms = [x for q in queries for x in timed(lambda q=q: embedder.embed([q]), 3)]
        words, hybrid, similar = [], [], []
        order = [q for q in queries for _ in range(args.reps)]
        rnd.shuffle(order)
        for q in order:
            words += timed(lambda q=q: lib.search(q, limit=50), 1)
            hybrid += timed(
                lambda q=q: lib.search(q, limit=50, query_vector=qvecs[q], vector_model="all-MiniLM-L6-v2"), 1
            )
            pid = rnd.randint(1, args.photos)
            if not args.searches_only:  # (then "similar photos" is timed apart, after the searches)
                similar += timed(lambda pid=pid: lib.similar_photos(pid, 50), 1)
        if args.searches_only:
            similar = [
                x
                for _ in range(len(order))
                for x in timed(lambda: lib.similar_photos(rnd.randint(1, args.photos), 50), 1)
            ]
        lib.close()
    print(f"\n{'(ms, limit 50)':34} {'p50':>7} {'p95':>7} {'max':>7}")
    for name, xs in (
        ("FTS-only search", words),
        ("hybrid search (words + meaning)", hybrid),
        ("similar photos", similar),
        ("embed one query (meaning lane)", embed_ms),
    ):
        print(f"{name:34} {pct(xs, 50):7.1f} {pct(xs, 95):7.1f} {max(xs):7.1f}")
    print(
        f"hybrid / FTS-only p95: {pct(hybrid, 95) / pct(words, 95):.2f}x; "
        f"similar / FTS-only p95: {pct(similar, 95) / pct(words, 95):.2f}x"
    )


# ---- quality -----------------------------------------------------------------------------------
def real_photos(folder: Path) -> dict[str, Path]:
    """The judged photos as JPEGs named photo_NN (no hint of their content in the name)."""
    from PIL import Image

    out: dict[str, Path] = {}
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    try:
        import skimage.data as sk

        sources += [(name, lambda n=name: Image.fromarray(getattr(sk, n)())) for name in SKIMAGE]
    except ImportError:
        print("scikit-image not installed: its photos are left out")
    for name in WALLPAPERS:
        images = Path("/usr/share/wallpapers", name, "contents", "images")
        files = (
            sorted(p for p in images.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
            if images.is_dir()
            else []
        )
        if files:
            sources.append((name, lambda p=files[0]: Image.open(p)))
    for i, (name, load) in enumerate(sources):
        im = load().convert("RGB")
        im.thumbnail((1024, 1024))
        out[name] = folder / f"photo_{i:02d}.jpg"
        im.save(out[name], quality=90)
    return out


def bench_quality(embedder) -> None:
    from photocap.engine import CaptionEngine
    from photocap.meaning import embed_pending, embed_query

    tmp = Path(tempfile.mkdtemp())
    try:
        photos = real_photos(tmp / "photos")
        lib = open_library(tmp / "q.sqlite")
        folder = lib.add_folder(tmp / "photos")
        scan(lib, folder.id)
        engine = CaptionEngine.create(None, device="cpu")
        name_of = {}
        for name, path in photos.items():
            ref = lib.photo_by_path(path)
            name_of[ref.id] = name
        refs = lib.photos_needing_caption(engine.model_id)
        for ref, item in zip(refs, engine.caption_paths([r.path for r in refs])):
            d = item.description
            lib.record_caption(ref.id, d.text, d.source, d.model_id, tags=d.tags)
            lib.store_image_feature(ref.id, engine.captioner.feature_id, d.feature)
        for _ in embed_pending(lib, embedder):
            pass
        print(f"\nquality: {len(photos)} real photos described by the tagger ({engine.model_id})")
        for pid, name in sorted(name_of.items()):
            print(f"  {name:22} {lib.photo_detail(pid).caption}")
        rows, sums = [], {"words": 0.0, "hybrid": 0.0}
        for query, relevant in JUDGED.items():
            relevant = {r for r in relevant if r in photos}
            if not relevant:
                continue
            vec = embed_query(embedder, query)
            got = {
                "words": lib.search(query, limit=5),
                "hybrid": lib.search(query, limit=5, query_vector=vec, vector_model=embedder.model_id),
            }
            recall = {
                k: len({name_of[h.photo_id] for h in hits} & relevant) / min(5, len(relevant))
                for k, hits in got.items()
            }
            for k in sums:
                sums[k] += recall[k]
            rows.append((query, recall, [name_of[h.photo_id] for h in got["hybrid"]]))
        print(f"\n{'query':32} {'words':>6} {'hybrid':>6}  hybrid top 5")
        for query, recall, top in rows:
            print(f"{query:32} {recall['words']:6.2f} {recall['hybrid']:6.2f}  {', '.join(top)}")
        n = len(rows)
        print(f"{'mean recall@5':32} {sums['words'] / n:6.2f} {sums['hybrid'] / n:6.2f}  ({n} queries)")
        near = lib.similar_photos(next(pid for pid, name in name_of.items() if name == "EveningGlow"), 3)
        print("similar to EveningGlow: " + ", ".join(name_of[h.photo_id] for h in near))
        lib.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--pool", type=int, default=2000, help="distinct captions embedded for the synthetic library")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument(
        "--searches-only",
        action="store_true",
        help="time the searches one after another (by default a 'similar photos' runs between them, "
        "cooling the caches)",
    )
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    from photocap.engine import CaptionEngine  # noqa: F401 - the OpenMP policy the app's lanes run with
    from photocap.model.sentence import SentenceEmbedder

    print(f"load: {os.getloadavg()[0]:.1f} (1-min average), {os.cpu_count()} CPUs")
    embedder = SentenceEmbedder.load()
    if not args.skip_quality:
        bench_quality(embedder)
    if not args.skip_latency:
        bench_latency(args, embedder)
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
