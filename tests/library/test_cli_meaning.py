"""`photocap similar` and search by meaning from the command line, end to end."""

from __future__ import annotations

import base64
import json
import os

import numpy as np

from photocap.cli import main
from photocap.ingest import scan
from photocap.library import open_library

from .conftest import make_photo


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _library_with_features(tmp_path, photo_dir):
    db = tmp_path / "lib.sqlite"
    feats = {"a": [1, 0, 0], "b": [0.9, 0.2, 0], "c": [0, 1, 0], "d": [0.5, 0.5, 0]}
    with open_library(db) as lib:
        for i, name in enumerate(feats):
            make_photo(photo_dir / f"{name}.jpg", seed=i + 1)
        scan(lib, lib.add_folder(photo_dir).id)
        for name, f in feats.items():
            photo = lib.photo_by_path(photo_dir / f"{name}.jpg")
            lib.record_caption(photo.id, f"photo {name}", "model", "m1")
            lib.store_image_feature(photo.id, "enc", np.array(f, np.float32))
    return str(db)


def test_similar_lists_photos_most_alike_first(capsys, tmp_path, photo_dir):
    db = _library_with_features(tmp_path, photo_dir)
    code, out, err = run(capsys, "similar", str(photo_dir / "a.jpg"), "--limit", "2", "--json", "--library", db)
    assert code == 0, err
    rows = json.loads(out)
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["b.jpg", "d.jpg"]
    assert rows[0]["similarity"] > rows[1]["similarity"] and rows[0]["caption"] == "photo b"
    code, out, _ = run(capsys, "similar", str(photo_dir / "c.jpg"), "--library", db)
    assert code == 0 and out.splitlines()[0].endswith("d.jpg") and "photo d" in out


def test_similar_prints_any_file_name_on_one_line(capsys, tmp_path, photo_dir):
    """As search does: U+FFFD for a byte that is not UTF-8, a newline as \\n; --json adds the exact bytes."""
    db = _library_with_features(tmp_path, photo_dir)
    os.rename(photo_dir / "b.jpg", os.fsencode(photo_dir) + b"/caf\xe9\nb.jpg")
    assert run(capsys, "index", str(photo_dir), "--no-caption", "--library", db)[0] == 0  # the move is seen
    code, out, err = run(capsys, "similar", str(photo_dir / "a.jpg"), "--limit", "1", "--library", db)
    assert code == 0, err
    assert out.splitlines()[0].endswith(f"{photo_dir}/caf\ufffd\\nb.jpg") and len(out.splitlines()) == 2
    code, out, _ = run(capsys, "similar", str(photo_dir / "a.jpg"), "--limit", "1", "--json", "--library", db)
    (row,) = json.loads(out)
    assert base64.b64decode(row["path_base64"]) == os.fsencode(photo_dir) + b"/caf\xe9\nb.jpg"
    code, _, err = run(capsys, "similar", str(photo_dir / "no\nsuch.jpg"), "--library", db)
    assert code == 1 and err == f"photocap: {photo_dir}/no\\nsuch.jpg: no such photo\n"


def test_similar_says_what_is_wrong_in_one_line(capsys, tmp_path, photo_dir):
    db = _library_with_features(tmp_path, photo_dir)
    code, out, err = run(capsys, "similar", str(tmp_path / "nope.jpg"), "--library", db)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "no such photo" in err
    code, _, err = run(capsys, "similar", str(photo_dir / "a.jpg"), "--limit", "0", "--library", db)
    assert code == 2 and "--limit" in err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    code, _, err = run(capsys, "similar", str(broken), "--library", db)
    assert code == 1 and "cannot read this photo" in err and "Traceback" not in err


def test_index_makes_vectors_and_search_finds_by_meaning(capsys, tmp_path, photo_dir):
    db = str(tmp_path / "lib.sqlite")
    for i in range(3):
        make_photo(photo_dir / f"p{i}.jpg", ["red", "green", "blue"][i], size=(96, 96), seed=i)
    assert run(capsys, "index", str(photo_dir), "--library", db)[0] == 0
    assert run(capsys, "edit", str(photo_dir / "p1.jpg"), "a kitten asleep on the sofa", "--library", db)[0] == 0
    with open_library(db) as lib:  # the edited words got their vector at once: no index needed
        assert lib.count_needing_vectors("all-MiniLM-L6-v2") == 0
    code, out, _ = run(capsys, "search", "cat", "--json", "--library", db)
    assert code == 0 and json.loads(out)[0]["path"].endswith("p1.jpg")
    code, out, _ = run(capsys, "search", "cat", "--json", "--words-only", "--library", db)
    assert json.loads(out) == []
    # a photo outside the library: run through the encoder, compared with the kept features
    outside = make_photo(tmp_path / "elsewhere" / "x.jpg", "blue", size=(96, 96), seed=2)
    code, out, err = run(capsys, "similar", str(outside), "--json", "--library", db)
    assert code == 0, err
    assert json.loads(out)[0]["path"].endswith("p2.jpg")  # the same picture
