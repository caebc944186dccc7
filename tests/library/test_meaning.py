"""Broader tag words, vectors kept with the library, fused ranking, similar photos.

No model here: vectors are made by hand (the library only stores and compares them),
so the ranking rules are tested exactly; tests/model/test_sentence.py checks the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from photocap.ingest import scan
from photocap.library import open_library
from photocap.library.db import make_sql_engine, upgrade
from photocap.library.hierarchy import broader_words
from photocap.library.vector_rows import embedding_text

from .conftest import make_photo

MODEL = "test-model"


def unit(*xs: float) -> np.ndarray:
    v = np.zeros(8, np.float32)
    v[: len(xs)] = xs
    return v / np.linalg.norm(v)


# directions in a toy 8-d "meaning" space
CAT, TRUCK, WATER = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)


@pytest.fixture
def photos(tmp_path):
    """A library with five captioned photos; returns (lib, ids by name)."""
    pics = tmp_path / "Pictures"
    for i in range(5):
        make_photo(pics / f"p{i}.jpg", seed=i + 1)
    lib = open_library(tmp_path / "library.sqlite")
    scan(lib, lib.add_folder(pics).id)
    ids = {}
    for i, (name, text, tags) in enumerate(
        [
            ("cat", "a cat on the sofa", []),
            ("kitten", "a small furry thing asleep", [("Egyptian cat", 0.8), ("tabby", 0.1)]),
            ("truck", "a red truck on the road", [("pickup", 0.9)]),
            ("lake", "rowing boats at dusk", [("canoe", 0.7), ("lakeside", 0.3)]),
            ("plain", "an animal in the garden", []),
        ]
    ):
        pid = lib.photo_by_path(pics / f"p{i}.jpg").id
        lib.record_caption(pid, text, "model", "m1", tags=tags)
        ids[name] = pid
    yield lib, ids
    lib.close()


def store(lib, vectors: dict[int, np.ndarray]) -> None:
    todo = dict(lib.texts_needing_vectors(MODEL, 100))
    assert lib.store_text_vectors(MODEL, [(pid, todo[pid], v) for pid, v in vectors.items()]) == len(vectors)


def ids_of(hits) -> list[int]:
    return [h.photo_id for h in hits]


# ---- hierarchy -------------------------------------------------------------------------------
def test_tags_expand_to_their_hypernyms():
    cat = broader_words([("Egyptian cat", 0.9)])
    for word in ("cat", "feline", "carnivore", "mammal", "animal"):
        assert word in cat
    canoe = broader_words([("canoe", 0.9)])
    for word in ("boat", "small boat", "vessel", "watercraft"):
        assert word in canoe
    assert canoe.index("small boat") < canoe.index("boat") < canoe.index("vessel")  # nearest first
    assert "entity" not in cat and "whole" not in canoe  # the abstract top is left out
    assert broader_words([("no such label", 1.0)]) == [] and broader_words([]) == []


def test_unsure_tags_add_no_broader_words():
    words = broader_words([("Egyptian cat", 0.8), ("canoe", 0.05)])
    assert "feline" in words and "boat" not in words


def test_general_words_find_specific_photos_below_direct_words(photos):
    lib, ids = photos
    found = ids_of(lib.search("animal"))
    # the photo that says "animal" first, then the one tagged "Egyptian cat"
    assert found == [ids["plain"], ids["kitten"]]
    assert ids_of(lib.search("boat")) == [ids["lake"]]  # tagged "canoe"
    assert ids_of(lib.search("feline")) == [ids["kitten"]]
    lib.record_caption(ids["kitten"], "a small furry thing asleep", "model", "m1", tags=[("pickup", 0.9)])
    assert ids_of(lib.search("feline")) == []  # new tags, new broader words


# ---- vectors follow the words ----------------------------------------------------------------
def test_vectors_follow_caption_edits_and_recaptioning(photos):
    lib, ids = photos
    assert lib.count_needing_vectors(MODEL) == 5
    store(lib, {ids["cat"]: CAT, ids["kitten"]: CAT, ids["truck"]: TRUCK, ids["lake"]: WATER, ids["plain"]: CAT})
    assert lib.count_needing_vectors(MODEL) == 0 and lib.has_text_vectors(MODEL)
    found = ids_of(lib.search("zzz", query_vector=CAT, vector_model=MODEL))
    assert set(found) == {ids["cat"], ids["kitten"], ids["plain"]}

    lib.set_user_caption(ids["kitten"], "my blue pickup truck")  # the user's edit
    todo = dict(lib.texts_needing_vectors(MODEL, 10))
    assert todo == {ids["kitten"]: "my blue pickup truck. Egyptian cat tabby"}
    assert ids["kitten"] not in ids_of(lib.search("zzz", query_vector=CAT, vector_model=MODEL))  # old vector gone
    lib.record_caption(ids["truck"], "a lorry parked", "model", "m2", tags=[("pickup", 0.9)])  # re-captioned
    assert set(dict(lib.texts_needing_vectors(MODEL, 10))) == {ids["kitten"], ids["truck"]}
    lib.record_caption(ids["lake"], "rowing boats at dusk", "model", "m1", tags=[("canoe", 0.7), ("lakeside", 0.3)])
    assert ids["lake"] not in dict(lib.texts_needing_vectors(MODEL, 10))  # same words: vector kept


def test_vector_of_words_edited_meanwhile_is_not_stored(photos):
    lib, ids = photos
    pid, text = next((p, t) for p, t in lib.texts_needing_vectors(MODEL, 10) if p == ids["cat"])
    lib.set_user_caption(pid, "a dog after all")  # edited while the old words were being embedded
    assert lib.store_text_vectors(MODEL, [(pid, text, CAT)]) == 0
    assert pid in dict(lib.texts_needing_vectors(MODEL, 10))


def test_embedding_text_is_caption_and_tags_once():
    assert embedding_text("a cat", "tabby", "model") == "a cat. tabby"
    assert embedding_text("tabby or tiger cat", "tabby tiger cat", "tags") == "tabby or tiger cat"
    assert embedding_text(None, "canoe", "tags") == ""
    assert embedding_text("a boat", "", "user") == "a boat"


# ---- fusion --------------------------------------------------------------------------------
def test_meaning_finds_photos_without_a_word_match(photos):
    lib, ids = photos
    store(lib, {ids["cat"]: unit(1, 0.2), ids["kitten"]: CAT, ids["truck"]: TRUCK, ids["lake"]: WATER})
    assert lib.search("kitty") == []  # no word matches
    found = ids_of(lib.search("kitty", query_vector=unit(1, 0.05), vector_model=MODEL))
    assert found[:2] == [ids["kitten"], ids["cat"]] and ids["truck"] not in found and ids["lake"] not in found
    hit = lib.search("kitty", query_vector=CAT, vector_model=MODEL)[0]
    assert hit.snippet == hit.caption == "a small furry thing asleep"


def test_word_matches_rank_first_and_unembedded_photos_are_still_found(photos):
    lib, ids = photos
    store(lib, {ids["kitten"]: CAT, ids["truck"]: TRUCK})  # "cat" and "plain" have no vector yet
    found = ids_of(lib.search("cat", query_vector=CAT, vector_model=MODEL))
    # both are word matches (caption "a cat...", tag "Egyptian cat"); words rank the caption
    # first, meaning has only the tagged one, so fused it leads; the unembedded photo is still found
    assert ids_of(lib.search("cat")) == [ids["cat"], ids["kitten"]]
    assert found == [ids["kitten"], ids["cat"]]
    assert ids["truck"] not in found
    words_only = ids_of(lib.search("cat"))
    assert set(found) == set(words_only)


def test_fused_order_puts_agreeing_lists_first(photos):
    lib, ids = photos
    store(lib, {ids["cat"]: TRUCK, ids["kitten"]: CAT, ids["truck"]: TRUCK, ids["plain"]: CAT})
    # "animal": words find plain (caption) then kitten (broader tag); meaning agrees on both,
    # and the truck photo, unrelated, is not listed
    found = ids_of(lib.search("animal", query_vector=CAT, vector_model=MODEL))
    assert found[:2] == [ids["plain"], ids["kitten"]] and ids["truck"] not in found
    # a word match that is far in meaning ranks below one that is near
    found = ids_of(lib.search("a", query_vector=CAT, vector_model=MODEL, limit=10))
    assert found.index(ids["kitten"]) < found.index(ids["truck"])


def test_meaning_hits_obey_filters_and_paging(photos):
    from photocap.library import PhotoFilter

    lib, ids = photos
    store(lib, dict.fromkeys(ids.values(), CAT))
    with lib.writing() as s:
        s.connection().exec_driver_sql(f"UPDATE photos SET status = 'missing' WHERE id = {ids['kitten']}")
    found = ids_of(lib.search("kitty", query_vector=CAT, vector_model=MODEL, limit=10))
    assert ids["kitten"] not in found and len(found) == 4
    pages = [ids_of(lib.search("kitty", query_vector=CAT, vector_model=MODEL, limit=2, offset=o)) for o in (0, 2)]
    assert pages[0] + pages[1] == found
    only_user = ids_of(lib.search("kitty", PhotoFilter(sources=("user",)), query_vector=CAT, vector_model=MODEL))
    assert only_user == []


HOSTILE = [
    '"',
    "-",
    "OR",
    "* * *",
    "NEAR(a b)",
    "a:b",
    "'; DROP TABLE photos; --",
    "\x00",
    "🐈",
    "-cat",
    "x" * 5000,
    "caption:cat",
    "(",
    ")",
    "^cat",
    "AND",
    "NOT cat",
]


@pytest.mark.parametrize(
    "vector", [CAT, np.zeros(8, np.float32), np.full(8, np.nan, np.float32), np.ones(3, np.float32), None]
)
def test_hostile_queries_with_vectors_never_raise(photos, vector):
    lib, ids = photos
    store(lib, {ids["kitten"]: CAT})
    for q in HOSTILE:
        assert isinstance(lib.search(q, query_vector=vector, vector_model=MODEL), list)
    assert lib.search("cat", query_vector=CAT, vector_model="another-model")  # no vectors of that model: words


# ---- similar photos ---------------------------------------------------------------------------
def test_similar_photos_nearest_first(photos):
    lib, ids = photos
    assert lib.similar_photos(ids["cat"]) is None  # no feature kept yet
    feats = {"cat": [1, 0.1, 0], "kitten": [1, 0.3, 0], "truck": [0, 1, 0], "lake": [0, 0.2, 1], "plain": [0.6, 0.6, 0]}
    for name, f in feats.items():
        lib.store_image_feature(ids[name], "enc", np.array(f + [0] * 5, np.float16))
    assert ids_of(lib.similar_photos(ids["cat"], 3)) == [ids["kitten"], ids["plain"], ids["truck"]]
    hits = lib.similar_photos(ids["cat"], 10)
    assert len(hits) == 4 and all(0 <= h.rank <= 1 for h in hits)
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)
    lib.store_image_feature(ids["truck"], "enc", np.array([1, 0.1, 0] + [0] * 5, np.float16))  # re-captioned
    assert ids_of(lib.similar_photos(ids["cat"], 1)) == [ids["truck"]]
    assert ids_of(lib.similar_to_vector("enc", np.array([0, 0, 1] + [0] * 5), 1)) == [ids["lake"]]
    assert lib.similar_to_vector("other-encoder", np.ones(8), 5) == []


def test_long_features_are_searched_projected_then_ranked_exactly(lib, tmp_path, monkeypatch):
    """1280-d features (EfficientNet-Lite0's) go through the in-memory projection; the
    answer is still the exact cosine order, as brute force over the stored vectors gives it."""
    from photocap.library import vectors

    monkeypatch.setattr(vectors, "RERANK_MIN", 40)
    pics = tmp_path / "many"
    for i in range(60):
        make_photo(pics / f"m{i}.jpg", seed=i + 1)
    scan(lib, lib.add_folder(pics).id)
    rng = np.random.default_rng(0)
    base = np.maximum(rng.normal(0.3, 0.5, (60, 1280)), 0).astype(np.float32)
    ids = [lib.photo_by_path(pics / f"m{i}.jpg").id for i in range(60)]
    for pid, f in zip(ids, base):
        lib.store_image_feature(pid, "lite0", f)
    stored = np.stack([base[i] / np.linalg.norm(base[i]) for i in range(60)]).astype(np.float16).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    exact = [ids[j] for j in np.argsort(-(stored @ stored[7]), kind="stable") if j != 7][:5]
    hits = lib.similar_photos(ids[7], 5)
    assert [h.photo_id for h in hits] == exact
    with lib.reading_sql() as conn:
        assert lib._vectors.matrix(conn, "image_features", "lite0").rows.shape == (60, vectors.PROJECTED_DIM)


def test_many_sentence_vectors_are_scanned_along_principal_directions_then_ranked_exactly(lib, tmp_path, monkeypatch):
    """Past PCA_ROWS vectors the scan reads their principal directions only; the answer is still
    the exact cosine order over the stored vectors, also after more are added."""
    from photocap.library import vectors

    monkeypatch.setattr(vectors, "PCA_ROWS", 40)
    monkeypatch.setattr(vectors, "PCA_DIM", 6)
    monkeypatch.setattr(vectors, "RERANK_MIN", 12)
    monkeypatch.setattr(vectors, "GROUP_ROWS", 45)  # grouped too; every group read, so exact
    monkeypatch.setattr(vectors, "SCAN_FRACTION", 1.0)
    pics = tmp_path / "many"
    for i in range(70):
        make_photo(pics / f"s{i}.jpg", seed=i + 1)
    scan(lib, lib.add_folder(pics).id)
    ids = [lib.photo_by_path(pics / f"s{i}.jpg").id for i in range(70)]
    for i, pid in enumerate(ids):
        lib.record_caption(pid, f"shot number {i}", "model", "m")
    rng = np.random.default_rng(3)
    topics = rng.normal(size=(5, 24))  # sentence vectors cluster around a few meanings
    base = topics[rng.integers(0, 5, 70)] + rng.normal(0, 0.3, (70, 24))
    store(lib, dict(zip(ids[:50], base[:50])))

    def exact_order(upto: int, q: np.ndarray) -> list[int]:
        stored = np.stack([v / np.linalg.norm(v) for v in base[:upto]]).astype(np.float16).astype(np.float32)
        return [ids[j] for j in np.argsort(-(stored @ (q / np.linalg.norm(q))), kind="stable")[:5]]

    queries = [topics[t] + rng.normal(0, 0.3, 24) for t in range(5)]
    with lib.reading_sql() as conn:
        first = lib._vectors.matrix(conn, "text_vectors", MODEL)
        assert first.proj is not None and first.proj.shape == (24, 6) and first.rows.shape == (50, 6)
        assert first.centres is not None and first.starts is not None and first.starts[-1] == 50
        assert [[pid for pid, _ in first.nearest(q, 5)] for q in queries] == [exact_order(50, q) for q in queries]
    store(lib, dict(zip(ids[50:], base[50:])))  # twenty more: projected with the same directions
    with lib.reading_sql() as conn:
        grown = lib._vectors.matrix(conn, "text_vectors", MODEL)
        assert grown.proj is first.proj and grown.rows.shape == (70, 6)
        assert grown.centres is first.centres and grown.starts[-1] == 70  # the twenty joined the groups
        assert [[pid for pid, _ in grown.nearest(q, 5)] for q in queries] == [exact_order(70, q) for q in queries]


def test_the_in_memory_copy_catches_up_with_inserts_edits_and_deletes(photos):
    """After any mix of changes the incrementally kept matrix equals a fresh load."""
    from photocap.library.vectors import VectorStore

    lib, ids = photos
    store(lib, {ids["cat"]: CAT, ids["truck"]: TRUCK})
    with lib.reading_sql() as conn:
        first = lib._vectors.matrix(conn, "text_vectors", MODEL)
    assert sorted(first.ids) == sorted([ids["cat"], ids["truck"]])
    store(lib, {ids["lake"]: WATER})  # inserted: appended
    lib.set_user_caption(ids["truck"], "a tractor")  # its vector deleted by the trigger
    store(lib, {ids["truck"]: WATER})  # and made again from the new words
    with lib.reading_sql() as conn:
        kept = lib._vectors.matrix(conn, "text_vectors", MODEL)
        fresh = VectorStore().matrix(conn, "text_vectors", MODEL)
    order_k, order_f = np.argsort(kept.ids), np.argsort(fresh.ids)
    assert list(kept.ids[order_k]) == list(fresh.ids[order_f]) == sorted([ids["cat"], ids["truck"], ids["lake"]])
    np.testing.assert_allclose(kept.rows[order_k], fresh.rows[order_f])
    found = ids_of(lib.search("zzz", query_vector=WATER, vector_model=MODEL))  # both exactly WATER: a tie
    assert len(found) == 2 and set(found) == {ids["lake"], ids["truck"]}


def test_deleting_photos_drops_their_vectors(photos):
    lib, ids = photos
    store(lib, {ids["kitten"]: CAT})
    lib.store_image_feature(ids["kitten"], "enc", np.ones(8))
    assert ids_of(lib.search("kitty", query_vector=CAT, vector_model=MODEL)) == [ids["kitten"]]
    folder = lib.folders()[0]
    lib.remove_folder(folder.id, delete_photos=True)
    assert lib.search("kitty", query_vector=CAT, vector_model=MODEL) == []
    with lib.reading() as s:
        left = (
            s.connection()
            .exec_driver_sql("SELECT count(*) FROM text_vectors UNION ALL SELECT count(*) FROM image_features")
            .scalars()
            .all()
        )
    assert left == [0, 0]


# ---- migration ---------------------------------------------------------------------------------
def test_upgrade_gives_existing_photos_their_broader_words(tmp_path):
    db = tmp_path / "old.sqlite"
    engine = make_sql_engine(db)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO photos (id, path, name, folder_name, size, mtime_ns, identity, status, added_at, updated_at, "
            "caption, caption_source, caption_stale, reviewed, tags_text) VALUES (3, '/p/a.jpg', 'a.jpg', 'p', 1, 1, "
            "'x', 'ok', '2024-01-01', '2024-01-01', 'Egyptian cat', 'tags', 0, 0, 'Egyptian cat')"
        )
        conn.exec_driver_sql("INSERT INTO tags (photo_id, label, prob) VALUES (3, 'Egyptian cat', 0.9)")
    engine.dispose()
    with open_library(db) as lib:
        assert ids_of(lib.search("mammal")) == [3]
        assert lib.texts_needing_vectors(MODEL) == [(3, "Egyptian cat")]


def test_grouped_scan_reads_only_the_groups_near_the_query_and_finds_the_nearest():
    """Past GROUP_ROWS the rows are stored group by group (each row in its nearest centre's
    group), and a query reads the nearest groups until SCAN_FRACTION of the rows: on vectors
    that cluster by meaning, as captions do, it finds what the whole scan finds."""
    from photocap.library import vectors

    rng = np.random.default_rng(5)
    topics = vectors._unit(rng.normal(size=(40, 32)))
    exact = vectors._unit(topics[rng.integers(0, 40, 3000)] + rng.normal(0, 0.08, (3000, 32)))
    basis = vectors.principal_directions(exact.astype(np.float16))
    rows = vectors._rows(exact.astype(np.float16), basis)
    flat = vectors.Matrix(np.arange(3000) + 100, rows, 32, basis, (1, 0), exact.astype(np.float16))
    old = (vectors.GROUP_ROWS, vectors.SCAN_FRACTION)
    try:
        vectors.GROUP_ROWS, vectors.SCAN_FRACTION = 1000, 0.25
        grouped = vectors._grouped(flat, None, None)
        assert grouped.centres is not None and len(grouped.centres) == round(np.sqrt(3000))
        groups = np.repeat(np.arange(len(grouped.centres)), np.diff(grouped.starts))
        assert (groups == vectors.nearest_centre(grouped.rows, grouped.centres)).all()
        assert sorted(grouped.ids) == sorted(flat.ids)  # every row once, its id beside it
        queries = [topics[t] + rng.normal(0, 0.08, 32) for t in range(10)]
        read = []
        real_top = vectors._top
        vectors._top = lambda scores, k: (read.append(len(scores)), real_top(scores, k))[1]
        try:
            found = [grouped.nearest(q, 10) for q in queries]
        finally:
            vectors._top = real_top
        assert found == [flat.nearest(q, 10) for q in queries]
        scanned = read[0::2]  # (every other call ranks the re-ranked candidates)
        assert all(750 <= n < 1500 for n in scanned), scanned  # a quarter of the rows, give or take a group
    finally:
        vectors.GROUP_ROWS, vectors.SCAN_FRACTION = old


def test_the_vector_scan_uses_one_blas_thread(monkeypatch):
    """The scan is bound by memory speed: a second BLAS thread would add little and then spin beside
    the word search running on the other core (see photocap.blas)."""
    from threadpoolctl import threadpool_info

    from photocap import blas
    from photocap.library import vectors

    with blas.blas_threads(1):
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
    seen = []
    real = vectors.blas_threads

    def recording(limit):
        seen.append(limit)
        return real(limit)

    monkeypatch.setattr(vectors, "blas_threads", recording)
    rows = vectors._unit(np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32))
    m = vectors.Matrix(np.arange(50), rows, 8, None, (1, 0))
    assert m.nearest(rows[3], 1)[0][0] == 3
    assert seen == [1]
