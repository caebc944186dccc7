"""`photocap export` / `photocap import`: captions out of one library and into another."""

from __future__ import annotations

import csv
import io
import json
import shutil

from photocap.cli import main
from photocap.ingest import scan
from photocap.library import open_library
from photocap.metadata import read_descriptions

from .conftest import make_photo


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _library_with_edits(tmp_path, photo_dir):
    for i, colour in enumerate(["red", "green", "blue"]):
        make_photo(photo_dir / f"{colour}.jpg", colour, seed=i)
    db = tmp_path / "a.sqlite"
    with open_library(db) as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        red = lib.photo_by_path(photo_dir / "red.jpg")
        green = lib.photo_by_path(photo_dir / "green.jpg")
        lib.set_user_caption(red.id, "Rex asleep on the red sofa")
        lib.record_caption(green.id, "tabby, Egyptian cat", "tags")
    return db


def test_csv_and_json_hold_the_user_captions_only_by_default(capsys, tmp_path, photo_dir):
    db = _library_with_edits(tmp_path, photo_dir)
    code, out, _ = run(capsys, "export", "--library", str(db), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["caption"], r["source"]) for r in rows] == [("Rex asleep on the red sofa", "user")]
    assert rows[0]["identity"]
    code, out, _ = run(capsys, "export", "--library", str(db), "--format", "json", "--source", "tags")
    assert code == 0
    assert [r["caption"] for r in json.loads(out)["captions"]] == ["tabby, Egyptian cat"]


def test_import_into_a_second_library_matches_moved_photos_by_content(capsys, tmp_path, photo_dir):
    db = _library_with_edits(tmp_path, photo_dir)
    export = tmp_path / "captions.json"
    assert run(capsys, "export", "--library", str(db), "--format", "json", "--out", str(export))[0] == 0
    moved = tmp_path / "other-disk" / "renamed"
    shutil.copytree(photo_dir, moved)
    (moved / "red.jpg").rename(moved / "IMG_0001.jpg")
    db2 = tmp_path / "b.sqlite"
    with open_library(db2) as lib:
        lib.add_folder(moved)
        scan(lib, moved)
    code, out, _ = run(capsys, "import", "--library", str(db2), str(export))
    assert code == 0 and "1 caption(s) imported (0 by path, 1 by content)" in out
    with open_library(db2) as lib:
        detail = lib.photo_detail(lib.photo_by_path(moved / "IMG_0001.jpg").id)
        assert (detail.caption, detail.caption_source) == ("Rex asleep on the red sofa", "user")
    code, out, _ = run(capsys, "import", "--library", str(db2), str(export))  # again: nothing new
    assert "0 caption(s) imported" in out and "1 already there" in out


def test_import_never_replaces_a_different_user_caption(capsys, tmp_path, photo_dir):
    db = _library_with_edits(tmp_path, photo_dir)
    export = tmp_path / "captions.csv"
    assert run(capsys, "export", "--library", str(db), "--out", str(export))[0] == 0
    with open_library(db) as lib:
        lib.set_user_caption(lib.photo_by_path(photo_dir / "red.jpg").id, "changed my mind: Rex on the sofa")
    code, out, err = run(capsys, "import", "--library", str(db), str(export))
    assert code == 0 and "1 kept" in out and "kept yours" in err
    with open_library(db) as lib:
        assert (
            lib.photo_detail(lib.photo_by_path(photo_dir / "red.jpg").id).caption == "changed my mind: Rex on the sofa"
        )


def test_import_refuses_files_that_are_not_exports(capsys, tmp_path):
    junk = tmp_path / "notes.csv"
    junk.write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "import", "--library", str(tmp_path / "x.sqlite"), str(junk))
    assert code == 1 and "not a photocap caption export" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    code, _, err = run(capsys, "import", "--library", str(tmp_path / "x.sqlite"), str(bad))
    assert code == 1 and "not valid JSON" in err
    code, _, err = run(capsys, "import", "--library", str(tmp_path / "x.sqlite"), str(tmp_path / "nope.csv"))
    assert code == 1 and err == f"photocap: cannot read {tmp_path / 'nope.csv'}: no such file\n"
    code, _, err = run(capsys, "import", "--library", str(tmp_path / "x.sqlite"), str(tmp_path))
    assert code == 1 and err == f"photocap: cannot read {tmp_path}: a folder, not a file\n"


def test_export_xmp_writes_sidecars_other_apps_read(capsys, tmp_path, photo_dir):
    db = _library_with_edits(tmp_path, photo_dir)
    code, out, _ = run(capsys, "export", "--library", str(db), "--format", "xmp")
    assert code == 0 and "1 sidecar(s) written" in out
    assert (photo_dir / "red.jpg.xmp").is_file() and not (photo_dir / "green.jpg.xmp").exists()
    assert read_descriptions(photo_dir / "red.jpg").description == "Rex asleep on the red sofa"
