"""`photocap index/search/edit/show` end to end, on real files and a real library file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np

from photocap.cli import main
from photocap.imaging import NOT_AN_IMAGE
from photocap.ingest import scan
from photocap.library import open_library

from .conftest import make_photo, wait_for


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_no_caption_does_not_import_torch(tmp_path, photo_dir):
    make_photo(photo_dir / "a.jpg")
    db = tmp_path / "lib.sqlite"
    code = (
        "import sys; from photocap.cli import main; rc = main(['index', sys.argv[1], '--no-caption', "
        "'--library', sys.argv[2]]); print('torch loaded' if 'torch' in sys.modules else 'no torch'); "
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(photo_dir), str(db)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "no torch" in proc.stdout and "1 photos (1 new" in proc.stdout
    with open_library(db) as lib:
        assert lib.count_photos() == 1


def test_output_into_a_closed_pipe_ends_quietly(tmp_path, photo_dir):
    """``photocap search dog | head -1``: the reader leaves early; no traceback, the shell's SIGPIPE status."""
    for name in ("dog.jpg", "dog2.jpg"):
        make_photo(photo_dir / name)
    db = tmp_path / "lib.sqlite"
    with open_library(db) as lib:
        scan(lib, lib.add_folder(photo_dir).id)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "photocap", "search", "dog", "--words-only", "--library", str(db)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in proc.stderr and b"Broken pipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_a_search_from_the_shell_imports_neither_sqlalchemy_nor_the_models(tmp_path, photo_dir):
    """``photocap search`` reads a current library with plain sqlite3 (photocap.library.reader):
    a word search loads no SQLAlchemy, numpy or torch; one by meaning adds numpy, not torch."""
    make_photo(photo_dir / "dog.jpg")
    db = tmp_path / "lib.sqlite"
    with open_library(db) as lib:
        scan(lib, lib.add_folder(photo_dir).id)
    code = (
        "import sys; from photocap.cli import main; rc = main(['search', 'dog', '--library', sys.argv[1]]); "
        "print(sorted(m for m in ('sqlalchemy', 'numpy', 'torch') if m in sys.modules)); sys.exit(rc)"
    )

    def search() -> list[str]:
        proc = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "dog.jpg" in proc.stdout
        return eval(proc.stdout.strip().splitlines()[-1])  # the list printed last

    assert search() == []  # no sentence vectors yet: words only
    with open_library(db) as lib, lib.writing_sql() as conn:
        from photocap.library.vectors import to_blob
        from photocap.model.sentence import DIM, MODEL_ID

        conn.execute(
            "INSERT INTO text_vectors (photo_id, model_id, vector) VALUES (1, ?, ?)", (MODEL_ID, to_blob(np.ones(DIM)))
        )
    assert search() == ["numpy"]  # by meaning: the numpy sentence model, still no SQLAlchemy or torch


def test_index_captions_search_edit_show(capsys, tmp_path, photo_dir):
    db = str(tmp_path / "lib.sqlite")
    for i, colour in enumerate(["red", "green", "blue"]):
        make_photo(photo_dir / f"{colour}.jpg", colour, size=(96, 96), seed=i)
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    code, out, err = run(capsys, "index", str(photo_dir), "--library", db, "--batch-size", "2")
    assert code == 0, err
    assert "4 photos (4 new" in out and "1 unreadable" in out
    assert "captioned 3 photos" in out
    assert "photos/s" in err
    with open_library(db) as lib:
        details = [d for d in map(lib.photo_detail, lib.list_photo_ids()) if d.status == "ok"]
    assert len(details) == 3 and all(d.caption and d.caption_source == "tags" and d.tags for d in details)
    some_tag = details[0].tags[0][0].split()[0]

    code, out, _ = run(capsys, "search", some_tag, "--json", "--library", db)
    hits = json.loads(out)
    assert code == 0 and hits and {"photo_id", "path", "caption", "snippet", "rank"} <= set(hits[0])

    target = str(photo_dir / "red.jpg")
    code, out, _ = run(capsys, "edit", target, "a red kite in the sky", "--library", db)
    assert code == 0
    code, out, _ = run(capsys, "search", "kite", "--library", db)
    assert code == 0 and out.splitlines()[0] == target
    assert out.splitlines()[1:] == ["    a red kite in the sky"]  # a match in the caption: no "… a red [kite]…"
    code, out, _ = run(capsys, "show", target, "--json", "--library", db)
    shown = json.loads(out)
    assert shown["caption"] == "a red kite in the sky" and shown["caption_source"] == "user"
    assert [h["source"] for h in shown["history"]] == ["tags", "user"] and not shown["needs_review"]
    code, out, _ = run(capsys, "show", target, "--library", db)
    assert "history:" in out and "source:  user" in out

    # re-indexing never touches the user's caption, and reads nothing unchanged
    code, out, _ = run(capsys, "index", str(photo_dir), "--library", db)
    assert code == 0 and "0 new, 0 changed" in out and "captioned" not in out
    code, out, _ = run(capsys, "search", "kite", "--source", "user", "--library", db)
    assert out.splitlines()[0] == target


def test_friendly_errors(capsys, tmp_path, photo_dir):
    db = str(tmp_path / "lib.sqlite")
    code, _, err = run(capsys, "edit", str(photo_dir / "nope.jpg"), "x", "--library", db)
    assert code == 2 and "no library at" in err and "photocap index" in err  # and none is created
    assert not os.path.exists(db)
    code, _, _ = run(capsys, "index", str(photo_dir), "--no-caption", "--library", db)
    assert code == 0
    code, _, err = run(capsys, "edit", str(photo_dir / "nope.jpg"), "x", "--library", db)
    assert code == 1 and "not in the library" in err
    make_photo(photo_dir / "one.jpg")
    code, _, err = run(capsys, "index", str(photo_dir / "one.jpg"), "--no-caption", "--library", db)
    one = photo_dir / "one.jpg"
    assert code == 1 and err == f"photocap: {one} is not a folder (to describe one photo: photocap caption {one})\n"
    code, _, err = run(capsys, "show", str(photo_dir), "--library", db)  # its folder is in the library
    assert code == 1 and err == f"photocap: {photo_dir} is a folder: name one photo in it\n"
    code, _, err = run(capsys, "search", "AND (", "--library", db)
    assert code == 1 and "no photos found" in err
    code, out, _ = run(capsys, "search", '"', "--json", "--library", db)
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "index", str(tmp_path / "missing-folder"), "--no-caption", "--library", db)
    assert code == 1 and err == f"photocap: no such folder: {tmp_path / 'missing-folder'}\n"


def test_index_watch_follows_changes_until_ctrl_c(tmp_path, photo_dir):
    db = tmp_path / "lib.sqlite"
    make_photo(photo_dir / "before.jpg")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "photocap",
            "index",
            str(photo_dir),
            "--watch",
            "--no-caption",
            "--debounce",
            "0.3",
            "--library",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        # Ctrl+C as from a terminal: a test run started in the background (`.ci/run &`) ignores
        # SIGINT, the child inherits that, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert "watching" in proc.stderr.readline() + proc.stderr.readline()
        make_photo(photo_dir / "after.jpg", seed=3)

        def indexed():
            with open_library(db) as lib:
                return lib.photo_by_path(photo_dir / "after.jpg") is not None

        wait_for(indexed, timeout=20, what="the watcher to index after.jpg")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "changes: 1 new" in out


def test_a_bad_model_file_is_reported_and_the_scan_kept(capsys, tmp_path, photo_dir):
    make_photo(photo_dir / "a.jpg")
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a model")
    db = str(tmp_path / "lib.sqlite")
    code, _, err = run(capsys, "index", str(photo_dir), "--model", str(bad), "--library", db)
    assert code == 2 and "cannot load the caption model" in err
    with open_library(db) as lib:
        assert lib.count_photos() == 1


def test_killed_in_the_middle_of_a_scan_the_library_stays_sound(tmp_path, photo_dir):
    """SIGKILL while scanning: the file opens, passes integrity checks, and a re-scan finishes the job."""
    for i in range(3000):
        (photo_dir / f"p{i:04d}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(64))
    db = tmp_path / "lib.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "photocap", "index", str(photo_dir), "--no-caption", "--library", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def some_written():
        if not db.exists() or proc.poll() is not None:
            return proc.poll() is not None
        try:
            with open_library(db) as lib:
                return lib.count_photos() > 0
        except Exception:
            return False

    wait_for(some_written, timeout=60, what="the scan to write something")
    proc.kill()
    assert proc.wait(timeout=10) == -signal.SIGKILL, "the scan finished before it could be killed"
    with open_library(db) as lib:
        assert lib.check_integrity() == []
        report = scan(lib, lib.folders()[0].id)
        assert report.seen == 3000 and lib.count_photos() == 3000
        assert 0 < report.added < 3000  # the first run's committed chunks were kept


def test_search_exclusion_first_non_utf8_words_notes_and_a_damaged_library(capsys, tmp_path, photo_dir):
    from .test_search import damage_search_index

    for i, name in enumerate(["boat.jpg", "dog.jpg", "café.jpg"]):
        make_photo(photo_dir / name, seed=i)
    db = str(tmp_path / "lib.sqlite")
    assert run(capsys, "index", str(photo_dir), "--no-caption", "--library", db)[0] == 0

    # the documented exclusion syntax as the first word is a word, not an option
    code, out, err = run(capsys, "search", "-boat", "--json", "--library", db)
    assert code == 0 and sorted(h["path"] for h in json.loads(out)) == [
        str(photo_dir / n) for n in ("café.jpg", "dog.jpg")
    ]
    code, out, _ = run(capsys, "search", "-boat", "jpg", "--limit", "1", "--json", "--library", db)
    assert code == 0 and len(json.loads(out)) == 1 and "boat" not in out
    code, out, _ = run(capsys, "search", "--library", db, "-horse", "dog", "--json")  # -h... is no help option
    assert code == 0 and [h["path"] for h in json.loads(out)] == [str(photo_dir / "dog.jpg")]

    # a query that had to be shortened says so (stderr), and still answers
    code, out, err = run(capsys, "search", *[f"dog{i}" for i in range(30)], "--library", db)
    assert code == 1 and "note: Only the first 16 words" in err

    # an argument that is not UTF-8 (Latin-1 "café") arrives surrogate-escaped: found, no traceback
    proc = subprocess.run(
        [sys.executable, "-m", "photocap", "search", b"caf\xe9", "--library", db], capture_output=True, timeout=120
    )
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.decode().split()[0] == str(photo_dir / "café.jpg")
    proc = subprocess.run(
        [sys.executable, "-m", "photocap", "search", b"\xff\xfe-", b"-\xed\xa0\x80", "--library", db],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1) and b"Traceback" not in proc.stderr, proc.stderr

    # a damaged library is said in one line, with a non-zero exit: never "no photos found"
    damage_search_index(db)
    code, out, err = run(capsys, "search", "boat", "--library", db)
    assert code == 2 and out == ""
    assert err.startswith("photocap: the library can't be read: ") and len(err.splitlines()) == 1
    os.replace(db, tmp_path / "damaged.db")  # the after-test integrity check would rightly fail on it


def test_index_lists_each_unreadable_file_with_its_reason_and_quiet_hides_them(capsys, tmp_path, photo_dir):
    make_photo(photo_dir / "good.jpg")
    (photo_dir / "notes.jpg").write_text("not a photo\n")
    os.symlink(photo_dir / "gone.jpg", photo_dir / "dangling.jpg")
    code, out, err = run(capsys, "index", str(photo_dir), "--no-caption", "--library", str(tmp_path / "a.sqlite"))
    assert code == 0 and "1 unreadable" in out
    lines = [line for line in err.splitlines() if line.startswith("photocap: ")]
    assert lines == [
        f"photocap: skipped {photo_dir}/dangling.jpg: broken link",
        f"photocap: cannot read {photo_dir}/notes.jpg: {NOT_AN_IMAGE}",
    ]
    code, out, err = run(
        capsys, "index", str(photo_dir), "--no-caption", "--quiet", "--library", str(tmp_path / "b.sqlite")
    )
    assert code == 0 and "1 unreadable" in out and "photocap: " not in err
    with open_library(tmp_path / "b.sqlite") as lib:  # quiet hides the list, the library keeps it
        assert {p.path for p in lib.problems()} == {f"{photo_dir}/dangling.jpg", f"{photo_dir}/notes.jpg"}
    code, out, _ = run(capsys, "show", str(photo_dir / "notes.jpg"), "--library", str(tmp_path / "b.sqlite"))
    assert code == 0 and out.splitlines() == [
        f"{photo_dir}/notes.jpg",
        f"  status:  error: {NOT_AN_IMAGE}",  # nothing else is known of it: no empty "photo:" line
        "  caption: (none yet)",
    ]
