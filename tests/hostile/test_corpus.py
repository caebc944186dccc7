"""Every kind of bad input through `photocap index`, `caption`, `search`, `show` and the window.

One corpus (tests/hostile/corpus.py: 20 good photos, some odd, and 17 kinds of bad
input) is indexed once per module; each test then checks one promise: every bad entry
recorded with a reason in photocap's words on one line, every good photo beside them
described, valid UTF-8 and JSON whatever the names, no traceback, no hang.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from photocap.filenames import readable
from photocap.ingest import scan
from photocap.library import open_library
from tests.hostile.conftest import IN_PROCESS_UNPRIVILEGED, UNPRIVILEGED, integrity, photocap
from tests.hostile.corpus import NON_UTF8, Corpus

pytestmark = pytest.mark.timeout(900)


def expected(corpus: Corpus, unprivileged: bool) -> tuple[set[str], set[str]]:
    """(good, bad) paths for a process that can (not) read what root alone could."""
    good, bad = set(corpus.good), set(corpus.bad)
    if not unprivileged:  # root reads the "unreadable" ones
        bad -= corpus.needs_unprivileged
        good |= {p for p in corpus.needs_unprivileged if not os.path.isdir(p)}
        good |= {os.path.join(p, n) for p in corpus.needs_unprivileged if os.path.isdir(p) for n in os.listdir(p)}
    return good, bad


@pytest.fixture(scope="module")
def indexed(corpus, tmp_path_factory):
    """`photocap index` (scan + caption with the bundled tagger) over the corpus, once."""
    where = tmp_path_factory.mktemp("indexed")
    db = where / "library.sqlite"
    run = photocap("index", corpus.root, "--library", db, data_dir=where, timeout=900)
    return run, db


def _reason_lines(stderr: str, path: str) -> list[str]:
    shown = readable(path)
    return [line for line in stderr.splitlines() if f" {shown}: " in line]


def test_index_records_every_bad_file_with_its_reason_and_describes_every_good_one(corpus, indexed):
    run, db = indexed
    run.assert_clean()
    assert run.rc == 0
    good, bad = expected(corpus, UNPRIVILEGED)
    assert corpus.kinds >= 30
    with open_library(db) as lib:
        problems = {p.path: p.reason for p in lib.problems()}
        for path in bad:
            assert path in problems, f"{corpus.bad[path]} ({path}) not in Problems"
            reason = problems[path]
            assert reason and "\n" not in reason and reason == reason.strip()
        for path in good:
            photo = lib.photo_by_path(path)
            assert photo is not None, f"{corpus.good[path]} ({path}) not in the library"
            assert photo.status == "ok" and photo.caption_source == "tags" and photo.caption, corpus.good[path]
        assert lib.photo_by_path(str(corpus.root / ".hidden.jpg")) is None
        assert str(corpus.root / ".hidden.jpg") not in problems
        assert len(lib.search("caf")) == 1  # the non-UTF-8 name, found by its readable part
    assert integrity(db) == []
    for path in bad:  # listed on stderr, one line each, with the same reason
        lines = _reason_lines(run.stderr, path)
        assert len(lines) == 1, (corpus.bad[path], lines)
        assert lines[0].endswith(": " + problems[path])


def test_reasons_are_photocaps_own_words(corpus, indexed):
    """No raw decoder text: each reason is one of photocap's sentences, not a library's message."""
    _, db = indexed
    with open_library(db) as lib:
        reasons = {p.path: p.reason for p in lib.problems()}
    raw = (
        "Truncated File Read",
        "could not create decoder object",
        "Errno",
        "cannot identify image file",
        "Invalid input:",
        "iloc box",
        "OSError",
        "Exception",
    )
    leaked = {corpus.bad.get(p, p): r for p, r in reasons.items() if any(s in r for s in raw)}
    assert leaked == {}


def test_index_quiet_lists_nothing_and_still_records(corpus, data_dir):
    db = data_dir / "quiet.sqlite"
    run = photocap("index", corpus.root, "--no-caption", "--quiet", "--library", db, data_dir=data_dir)
    run.assert_clean()
    assert run.rc == 0
    assert [line for line in run.stderr.splitlines() if "skipped" in line or "cannot read" in line] == []
    _, bad = expected(corpus, UNPRIVILEGED)
    scan_bad = {p for p in bad if not Path(p).name.startswith("truncated")}  # those fail only when decoded
    with open_library(db) as lib:
        assert scan_bad <= {p.path for p in lib.problems()}


def test_caption_json_is_valid_and_lists_every_file(corpus, data_dir):
    run = photocap("caption", corpus.root, "--json", data_dir=data_dir, timeout=900)
    run.assert_clean()
    assert run.rc == 1  # some files could not be described
    doc = json.loads(run.stdout)
    good, bad = expected(corpus, UNPRIVILEGED)
    by_path = {}
    for entry in doc["photos"]:
        exact = base64.b64decode(entry["path_base64"]) if "path_base64" in entry else entry["path"].encode()
        by_path[os.fsdecode(exact)] = entry
    for path in good:
        assert by_path[path].get("caption"), corpus.good[path]
    for path in bad:
        assert by_path[path].get("error"), corpus.bad[path]
        assert "\n" not in by_path[path]["error"]
    odd = by_path[str(corpus.root / NON_UTF8)]
    assert odd["path"].endswith("caf\ufffd au lait.jpg")
    assert base64.b64decode(odd["path_base64"]) == os.fsencode(str(corpus.root / NON_UTF8))
    assert doc["summary"]["failed"] == len(bad) and doc["summary"]["captioned"] == len(good)


def test_search_and_show_print_any_name(corpus, indexed, data_dir):
    _, db = indexed
    odd = str(corpus.root / NON_UTF8)
    found = photocap("search", "caf", "--json", "--library", db, data_dir=data_dir)
    found.assert_clean()
    [hit] = json.loads(found.stdout)
    assert base64.b64decode(hit["path_base64"]) == os.fsencode(odd)
    assert hit["path"].endswith("caf\ufffd au lait.jpg")
    text = photocap("search", "caf", "--library", db, data_dir=data_dir)
    assert text.rc == 0 and text.stdout.splitlines()[0] == readable(odd)
    newline = str(corpus.root / "line\nbreak.jpg")
    shown = photocap("show", newline, "--library", db, data_dir=data_dir)
    shown.assert_clean()
    assert shown.stdout.splitlines()[0] == readable(newline) == str(corpus.root) + "/line\\nbreak.jpg"
    shown = photocap("show", odd, "--json", "--library", db, data_dir=data_dir)
    shown.assert_clean()
    detail = json.loads(shown.stdout)
    assert base64.b64decode(detail["path_base64"]) == os.fsencode(odd) and detail["caption_source"] == "tags"


@pytest.mark.skipif(not UNPRIVILEGED, reason="needs a process without root's permission override")
def test_caption_on_an_unreadable_folder_says_why(corpus, data_dir):
    run = photocap("caption", corpus.root / "private", data_dir=data_dir)
    run.assert_clean()
    assert run.rc == 1
    assert f"photocap: skipped {corpus.root / 'private'}: permission denied" in run.stderr
    assert "no photos found (permission denied)" in run.stderr


def test_a_fifo_named_like_a_photo_never_hangs(corpus, data_dir):
    run = photocap("caption", corpus.root / "pipe.jpg", data_dir=data_dir, timeout=120)
    run.assert_clean()
    assert run.rc == 1 and "a named pipe, not a photo file" in run.stderr


def test_files_vanishing_mid_scan_are_not_problems_and_stop_nothing(tmp_path):
    from tests.hostile.corpus import encoded, photo

    folder = tmp_path / "vanishing"
    folder.mkdir()
    for i in range(60):
        (folder / f"p{i:02d}.jpg").write_bytes(encoded(photo(i), "JPEG"))
    doomed = [folder / f"p{i:02d}.jpg" for i in range(0, 60, 3)]

    def progress(p):  # the user deletes photos while the scan lists and reads
        for path in doomed:
            path.unlink(missing_ok=True)

    with open_library(tmp_path / "library.sqlite") as lib:
        report = scan(lib, lib.add_folder(folder).id, progress=progress)
        assert report.skipped == [] and report.errors == []
        there = {str(p) for p in folder.iterdir()}
        present = {lib.photo_by_path(p).path for p in there}
        assert present == there and len(there) == 40
        for path in doomed:
            photo = lib.photo_by_path(path)
            assert photo is None or photo.status == "missing"
        assert scan(lib, lib.add_folder(folder).id).added == 0  # a second scan agrees


@pytest.mark.slow
def test_the_window_lists_every_problem_and_describes_every_good_photo(qtbot, make_window, corpus):
    from photocap.ui.item_models.sidebar import PROBLEMS

    good, bad = expected(corpus, IN_PROCESS_UNPRIVILEGED)
    window = make_window()
    window.add_folder(str(corpus.root))
    sidebar = window.page.sidebar

    def described():
        rows = [window.grid_model.summary(i) for i in window.grid_model.ids()]
        return sum(1 for s in rows if s is not None and s.caption_source == "tags")

    qtbot.waitUntil(lambda: described() == len(good), timeout=600_000)
    qtbot.waitUntil(
        lambda: sidebar.model.counts is not None and sidebar.model.counts.problems == len(bad), timeout=60_000
    )
    names = {window.grid_model.summary(i).name for i in window.grid_model.ids()}
    assert "caf\ufffd au lait.jpg" in names and "line\\nbreak.jpg" in names and "🐈 cat ☕.jpg" in names
    sidebar.select(PROBLEMS)
    view = window.page.problems
    qtbot.waitUntil(lambda: view.topLevelItemCount() == len(bad), timeout=30_000)
    rows = {view.topLevelItem(i).data(0, 0x0100): view.topLevelItem(i).text(1) for i in range(view.topLevelItemCount())}
    assert set(rows) == bad and all(rows.values())
    assert "Library:" not in window.statusBar().currentMessage()
    from photocap.ui.jobs.thumbnails import load_thumbnail

    assert not load_thumbnail(str(corpus.root / NON_UTF8), 128).isNull()  # cached under its exact bytes
