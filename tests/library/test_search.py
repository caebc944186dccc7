"""Search: stemming, phrases, prefixes, exclusion, ranking, snippets, filters, odd input, index consistency."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from photocap.ingest import scan
from photocap.library import LibraryBusy, LibraryUnreadable, PhotoFilter, SearchCancelled, open_library
from photocap.library.fts import _QUOTED, _TOKENS, MAX_PREFIXES, MAX_WORDS, parse_query
from photocap.library.schema import Photo

from .conftest import integrity_problems, make_photo

CAPTIONS = {
    "beach/dog.jpg": "a dog running on the beach",
    "beach/kids.jpg": "two children building a sandcastle on the beach",
    "city/car.jpg": "a red car parked in front of a café",
    "city/bus.jpg": "a double decker bus on a busy street",
    "home/cat.jpg": "a cat sleeping on a sofa",
    "home/dogs.jpg": "three dogs playing with a ball in the garden",
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    pics = root / "Pictures"
    for i, name in enumerate(CAPTIONS):
        make_photo(pics / name, seed=i)
    lib = open_library(root / "library.sqlite")
    scan(lib, lib.add_folder(pics).id)
    ids = {}
    for name, text in CAPTIONS.items():
        pid = lib.photo_by_path(pics / name).id
        ids[name] = pid
        lib.record_caption(pid, text, "model", "m1", tags=[("animal", 0.5)] if "dog" in text or "cat" in text else [])
    lib.set_user_caption(ids["home/cat.jpg"], "our cat Mimi asleep on the sofa")
    with lib.writing() as s:  # dates taken, as EXIF would give them
        for n, name in enumerate(CAPTIONS):
            s.execute(update(Photo).where(Photo.id == ids[name]).values(taken_at=dt.datetime(2023, 1 + n, 10, 12)))
    yield lib, ids, pics
    lib.close()
    assert integrity_problems(root / "library.sqlite") == []


def names(hits, ids):
    back = {v: k for k, v in ids.items()}
    return [back[h.photo_id] for h in hits]


def test_words_all_match_and_are_stemmed(library):
    lib, ids, _ = library
    assert set(names(lib.search("dogs"), ids)) == {"beach/dog.jpg", "home/dogs.jpg"}
    assert names(lib.search("dog beach"), ids) == ["beach/dog.jpg"]
    assert names(lib.search("cafe"), ids) == ["city/car.jpg"]  # diacritics folded
    assert names(lib.search("DOG Running"), ids) == ["beach/dog.jpg"]


def test_phrase_prefix_exclusion_and_or(library):
    lib, ids, _ = library
    # both captions hold the phrase once; BM25 ranks the shorter caption (6 words against 8) first
    assert names(lib.search('"on the beach"'), ids) == ["beach/dog.jpg", "beach/kids.jpg"]
    assert names(lib.search('"beach on"'), ids) == []
    assert set(names(lib.search("sand*"), ids)) == {"beach/kids.jpg"}
    assert set(names(lib.search("beach -dog"), ids)) == {"beach/kids.jpg"}
    assert set(names(lib.search('dog -"the beach"'), ids)) == {"home/dogs.jpg"}
    assert set(names(lib.search("bus OR car"), ids)) == {"city/bus.jpg", "city/car.jpg"}
    assert set(names(lib.search("-dog -cat -car -bus"), ids)) == {"beach/kids.jpg"}


def test_file_and_folder_names_are_searchable_but_caption_ranks_first(library):
    lib, ids, _ = library
    # "dog" is in the caption of two photos and in the file name of both: caption matters most
    assert set(names(lib.search("city"), ids)) == {"city/car.jpg", "city/bus.jpg"}  # folder name
    hits = lib.search("cat")
    assert names(hits, ids)[0] == "home/cat.jpg"  # caption and file name beat file name only
    assert hits == sorted(hits, key=lambda h: h.rank)


def test_caption_is_weighted_above_file_name(lib, photo_dir):
    folder = lib.add_folder(photo_dir)
    make_photo(photo_dir / "boat.jpg", seed=1)
    make_photo(photo_dir / "x.jpg", seed=2)
    scan(lib, folder.id)
    named, captioned = lib.photo_by_path(photo_dir / "boat.jpg").id, lib.photo_by_path(photo_dir / "x.jpg").id
    lib.record_caption(named, "a lake in the mountains", "model", "m")
    lib.record_caption(captioned, "a boat on a lake in the mountains", "model", "m")
    assert [h.photo_id for h in lib.search("boat")] == [captioned, named]


def test_snippet_highlights_the_match(library):
    lib, _ids, _ = library
    hit = lib.search("sandcastle")[0]
    assert "[sandcastle]" in hit.snippet
    hit = lib.search("sofa", marks=("<b>", "</b>"))[0]
    assert "<b>sofa</b>" in hit.snippet and hit.caption.startswith("our cat Mimi")


def test_filters_combine_with_text(library):
    lib, ids, pics = library
    assert set(names(lib.search("on", PhotoFilter(folder=pics / "beach")), ids)) == {"beach/dog.jpg", "beach/kids.jpg"}
    in_spring = PhotoFilter(taken_from=dt.date(2023, 2, 1), taken_to=dt.date(2023, 4, 10))
    assert set(names(lib.search("a", in_spring), ids)) == {"beach/kids.jpg", "city/car.jpg", "city/bus.jpg"}
    assert names(lib.search("sofa", PhotoFilter(sources=("user",))), ids) == ["home/cat.jpg"]
    assert names(lib.search("sofa", PhotoFilter(needs_review=True)), ids) == []
    assert names(lib.search("", PhotoFilter(sources=("user",))), ids) == ["home/cat.jpg"]
    assert lib.search("") == []
    assert lib.count_photos(PhotoFilter(needs_review=True)) == 5


def test_listing_orders_and_pages(library):
    lib, ids, _ = library
    by_date = lib.list_photo_ids(order="taken")
    assert by_date == [ids[n] for n in CAPTIONS]
    assert lib.list_photo_ids(order="-taken", offset=1, limit=2) == by_date[::-1][1:3]
    summaries = lib.photos_by_ids(by_date[::-1])
    assert [s.id for s in summaries] == by_date[::-1]
    assert summaries[0].caption == "three dogs playing with a ball in the garden"


NASTY = [
    '"',
    '""',
    "'",
    "(",
    ")",
    "AND",
    "OR",
    "NOT",
    "NEAR(a b)",
    "a OR",
    "OR a",
    "-",
    "*",
    "-*",
    "^dog",
    "dog:",
    "caption:dog",
    "'; DROP TABLE photos; --",
    "🐶🐱",
    "dog 🐶",
    "\x00",
    "\\",
    "%",
    "_",
    'a"b',
    '"unterminated',
    "* dog",
    "dog**",
    "- -",
    "NOT dog",
    "{caption}: dog",
    "dog + cat",
    "ﬁsh",
    "a" * 3000,
]


@pytest.mark.parametrize("query", NASTY)
def test_odd_queries_never_raise(library, query):
    lib, _, _ = library
    assert isinstance(lib.search(query), list)


# every code point, lone surrogates (what a non-UTF-8 byte in argv becomes), NUL and controls included
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = (
    st.text(ANY_CHAR, max_size=80)
    | st.lists(st.sampled_from([*NASTY, "dog", "beach", "-cat", "car*", "OR", "a*", "�", "�"]), max_size=8).map(
        " ".join
    )
    | st.tuples(st.text(ANY_CHAR, min_size=1, max_size=8), st.integers(1, 5000)).map(lambda t: t[0] * t[1])
)


def _terms_in(expr: str | None) -> list[tuple[str, bool]]:
    return [(body, bool(star)) for body, star in _QUOTED.findall(expr or "")]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_TEXT)
def test_any_text_returns_a_list(library, text):
    lib, _, _ = library
    q = parse_query(text)
    hits = lib.search(text)
    assert isinstance(hits, list)
    if q.match is None and q.exclude is None:
        assert hits == []
    terms = _terms_in(q.match) + _terms_in(q.exclude)
    assert sum(len(_TOKENS.findall(body)) or 1 for body, _ in terms) <= MAX_WORDS
    assert sum(star for _, star in terms) <= MAX_PREFIXES
    for part in (q.match, q.exclude):
        (part or "").encode("utf-8")  # SQLite can take it


@pytest.mark.parametrize(
    "query",
    [
        "dog " * 800,
        "a* " * 400,
        "dog OR " * 1000,
        "beach " + "x" * 20_000,
        "caf\udce9 \ud800 \udfff",
        " ".join(f"w{i}*" for i in range(400)),
        '"' + " ".join(f"w{i}" for i in range(500)) + '"',
    ],
)
def test_pathological_queries_are_bounded_and_never_raise(library, query):
    lib, _, _ = library
    q = parse_query(query)
    terms = _terms_in(q.match) + _terms_in(q.exclude)
    assert 1 <= len(terms) <= MAX_WORDS and sum(star for _, star in terms) <= MAX_PREFIXES
    assert isinstance(lib.search(query), list)


def test_repeated_terms_count_once_and_keep_their_meaning(library):
    lib, ids, _ = library
    assert parse_query("dog " * 800).match == '"dog"'
    assert parse_query("Dog dog DOG").match == '"Dog"'
    assert parse_query("dog OR " * 140).match == '"dog"'
    assert parse_query("a* " * 300).match == '"a" *'
    assert parse_query("dog OR cat dog OR Cat").match == '("dog" OR "cat")'
    assert parse_query("-cat -cat dog").exclude == '"cat"'
    # an OR group and a plain word are different conditions: both stay
    assert parse_query("dog OR cat dog").match == '("dog" OR "cat") AND "dog"'
    assert names(lib.search("dog dog dog"), ids) == names(lib.search("dog"), ids)
    assert set(names(lib.search("sofa OR car sofa OR car"), ids)) == {"home/cat.jpg", "city/car.jpg"}
    assert parse_query("dog beach").notes == ()  # nothing shortened, nothing said


def test_shortened_queries_say_so():
    many = " ".join(f"word{i}" for i in range(40))
    q = parse_query(many)
    assert len(_terms_in(q.match)) == MAX_WORDS and q.match.startswith('"word0" AND "word1"')
    assert any(f"first {MAX_WORDS} words" in n for n in q.notes)
    q = parse_query("a* b* c* d* e* f*")
    assert q.match == '"a" * AND "b" * AND "c" * AND "d" * AND "e" AND "f"'  # later prefixes: whole words
    assert any("ending in *" in n for n in q.notes)
    q = parse_query("beach " + "x" * 5000)
    assert any("1,000 characters" in n for n in q.notes) and q.match.startswith('"beach"')
    assert len(q.match) < 1100


def test_surrogate_escaped_bytes_are_read_as_text(library):
    lib, ids, _ = library
    assert parse_query("caf\udce9").match == '"café"'  # Latin-1 bytes, as a non-UTF-8 terminal sends them
    assert parse_query("caf\udcc3\udca9").match == '"café"'  # UTF-8 bytes that came through escaped
    assert parse_query("\ud800dog\x00\x07cat").match == '"dog" AND "cat"'
    assert names(lib.search("caf\udce9"), ids) == ["city/car.jpg"]


def test_index_follows_updates_and_deletes(lib, photo_dir):
    """Random caption/tag/path updates and deletes; the index always agrees with the table."""
    folder = lib.add_folder(photo_dir)
    for i in range(30):
        make_photo(photo_dir / f"p{i}.jpg", seed=i)
    scan(lib, folder.id)
    rnd = random.Random(7)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    ids = lib.list_photo_ids(order="path")
    for step in range(120):
        pid = rnd.choice(ids)
        text = " ".join(rnd.sample(words, 2))
        if step % 3 == 0:
            lib.set_user_caption(pid, text)
        else:
            lib.record_caption(pid, text, "model", f"m{step % 4}", tags=[(rnd.choice(words), 0.5)])
    with lib.writing() as s:
        for pid in ids[:5]:
            s.delete(s.get(Photo, pid))
        s.execute(update(Photo).where(Photo.id == ids[5]).values(status="missing", mtime_ns=1))
    assert lib.check_integrity() == []
    for word in words:
        expected = set()
        for pid in lib.list_photo_ids(order="path"):
            d = lib.photo_detail(pid)
            if word in (d.caption or "").split() or word in [t for t, _ in d.tags]:
                expected.add(pid)
        assert {h.photo_id for h in lib.search(word, limit=1000)} == expected, word


def test_broad_queries_rank_the_newest_matches_first_and_pages_stay_consistent(lib, photo_dir, monkeypatch):
    """More matches than RANK_CAP: the newest are ranked first; paging never repeats or skips."""
    from photocap.library import search as search_mod

    folder = lib.add_folder(photo_dir)
    for i in range(12):
        make_photo(photo_dir / f"p{i:02d}.jpg", seed=i)
    scan(lib, folder.id)
    ids = lib.list_photo_ids(order="path")
    for n, pid in enumerate(ids):
        lib.record_caption(pid, "a dog" + " on the grass" * (n % 3), "model", "m")
        if n % 4 == 0:
            lib.mark_reviewed(pid)
    with lib.writing() as s:
        s.execute(update(Photo).where(Photo.id == ids[-1]).values(status="missing"))
    full = [h.photo_id for h in lib.search("dog", limit=20)]
    assert len(full) == 11 and ids[-1] not in full
    monkeypatch.setattr(search_mod, "RANK_CAP", 6)
    for flt, qualifying in (
        (None, ids[:-1]),
        (PhotoFilter(needs_review=True, folder=photo_dir), [ids[n] for n in range(11) if n % 4]),
    ):
        first = lib.search("dog", flt, limit=2)
        assert [h.rank for h in first] == sorted(h.rank for h in first)
        assert {h.photo_id for h in first} <= set(qualifying[-6:])  # ranked among the newest six
        paged = [h.photo_id for k in range(0, 14, 2) for h in lib.search("dog", flt, limit=2, offset=k)]
        whole = [h.photo_id for h in lib.search("dog", flt, limit=20)]  # a deep page: every match ranked
        assert paged == whole and len(set(paged)) == len(paged) and ids[-1] not in paged
        assert "[dog]" in lib.search("dog", flt, limit=1)[0].snippet
    assert len(whole) == 12 - 3 - 1  # reviewed ones (n % 4 == 0) filtered out, and the missing one


def test_filter_words_are_never_matched_by_what_people_type(library):
    lib, ids, _ = library
    for word in (
        "review",
        "reviews",
        "srcuser",
        "srcmodel",
        "stok",
        "f1",
        "y2023",
        "m202301",
        "rev*",
        "sto*",
        "sr*",
        "y2*",
        "m20*",
        "f1*",
        '"stok srcmodel"',
    ):
        assert lib.search(word) == [], word
    assert set(names(lib.search("reviewed OR sofa"), ids)) == {"home/cat.jpg"}


def test_only_queries_that_could_meet_a_facet_are_limited_to_the_text_columns():
    from photocap.library.fts import could_match_facets

    for q in ("review", "reviewing", "re*", "s*", "st*", "sr*", "f*", "f12", "y2015", "m2015*", "stok", "a srcuser"):
        assert could_match_facets(parse_query(q).match), q
    for q in (
        "dog",
        "beach sunset",
        '"on the beach"',
        "snow*",
        "dogs -cat",
        "fish",
        "yellow",
        "mountain",
        "stream*",
        "2015",
        "tiger",
    ):
        assert not could_match_facets(parse_query(q).match), q


def test_month_words_cover_the_range():
    from photocap.library.search import _month_words

    d = dt.datetime
    assert _month_words(d(2015, 1, 1), d(2016, 12, 31, 23, 59)) == ['"y2015"', '"y2016"']
    assert _month_words(d(2015, 3, 10), d(2015, 5, 2)) == ['"m201503"', '"m201504"', '"m201505"']
    assert _month_words(d(2014, 11, 5), d(2016, 2, 1)) == [
        '"m201411"',
        '"m201412"',
        '"y2015"',
        '"m201601"',
        '"m201602"',
    ]
    assert _month_words(d(2016, 1, 1), d(2015, 1, 1)) == []


def test_filters_in_the_index_follow_every_change(lib, photo_dir, tmp_path):
    folder = lib.add_folder(photo_dir)
    make_photo(photo_dir / "a.jpg", seed=1)
    make_photo(photo_dir / "b.jpg", seed=2)
    scan(lib, folder.id)
    a, b = lib.photo_by_path(photo_dir / "a.jpg").id, lib.photo_by_path(photo_dir / "b.jpg").id
    lib.record_caption(a, "a kite", "model", "m")
    lib.record_caption(b, "a kite", "tags", "t")
    review = PhotoFilter(needs_review=True, folder_id=folder.id)
    assert {h.photo_id for h in lib.search("kite", review)} == {a, b}
    lib.mark_reviewed(a)
    assert [h.photo_id for h in lib.search("kite", review)] == [b]
    lib.set_user_caption(b, "my kite")
    assert lib.search("kite", review) == []
    assert [h.photo_id for h in lib.search("kite", PhotoFilter(sources=("user",)))] == [b]
    with lib.writing() as s:
        s.execute(update(Photo).where(Photo.id == a).values(taken_at=dt.datetime(2019, 7, 1)))
    july = PhotoFilter(taken_from=dt.date(2019, 7, 1), taken_to=dt.date(2019, 7, 1))
    assert [h.photo_id for h in lib.search("kite", july)] == [a]
    assert lib.search("kite", PhotoFilter(taken_from=dt.date(2019, 6, 1), taken_to=dt.date(2019, 6, 30))) == []
    lib.remove_folder(folder.id)  # photos kept, missing, no folder
    assert lib.search("kite", PhotoFilter(folder_id=folder.id, include_missing=True)) == []
    assert lib.check_integrity() == []


def test_a_running_search_stops_when_asked(library, monkeypatch):
    from photocap.library import search as search_mod

    lib, ids, _ = library
    monkeypatch.setattr(search_mod, "PROGRESS_STEPS", 10)  # six photos: SQLite must look often to look at all
    with pytest.raises(SearchCancelled):
        lib.search("dog", should_stop=lambda: True)
    calls = []

    def stop_after_a_while():  # SQLite asks while the statement runs: stop on its second look
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SearchCancelled):
        lib.search("a* OR o*", limit=1000, should_stop=stop_after_a_while)
    assert len(calls) > 2
    # the connection is clean afterwards: no stale progress handler stops the next search
    assert set(names(lib.search("dogs", should_stop=lambda: False), ids)) == {"beach/dog.jpg", "home/dogs.jpg"}
    assert set(names(lib.search("dogs"), ids)) == {"beach/dog.jpg", "home/dogs.jpg"}


def test_a_busy_library_is_an_error_not_no_results(lib, photo_dir, monkeypatch):
    from photocap.library import db

    make_photo(photo_dir / "boat.jpg")
    scan(lib, lib.add_folder(photo_dir).id)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 50)  # new connections give up on a lock after 50 ms, not 15 s
    lib.sql_engine.dispose()  # no open connection: the blocker below can lock the file for itself
    blocker = sqlite3.connect(lib.path, isolation_level=None)
    try:
        blocker.execute("PRAGMA locking_mode = EXCLUSIVE")  # in WAL mode, the one way to keep readers out
        blocker.execute("BEGIN EXCLUSIVE")
        blocker.execute("UPDATE photos SET caption = 'x'")
        with pytest.raises(LibraryBusy, match=r"^the library is busy: database is locked"):
            lib.search("boat")
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    assert [h.path for h in lib.search("boat")] == [str(photo_dir / "boat.jpg")]


def damage_search_index(db) -> None:
    """Overwrite the root page of the FTS5 data table with garbage (a damaged disk, say)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'photo_fts_data'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xff" * size)


def test_a_damaged_library_is_an_error_not_no_results(tmp_path, photo_dir):
    make_photo(photo_dir / "boat.jpg")
    db = tmp_path / "damaged.db"  # not *.sqlite: the integrity check after the test would (rightly) fail
    with open_library(db) as lib:
        scan(lib, lib.add_folder(photo_dir).id)
    damage_search_index(db)
    with open_library(db, check=False) as lib:  # damage met by a search, not at open (open checks too)
        with pytest.raises(LibraryUnreadable, match=r"^the library can't be read: "):
            lib.search("boat")
        with pytest.raises(LibraryUnreadable):
            lib.search("-boat", PhotoFilter(folder=photo_dir))  # the listing path too
