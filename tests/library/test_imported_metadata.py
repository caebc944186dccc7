"""Descriptions other apps wrote become `imported` captions on scan; the user's go back out as XMP."""

from __future__ import annotations

import json
import os
import shutil

from PIL import Image

from photocap.ingest import scan
from photocap.ingest.watcher import Change, apply_changes
from photocap.library import open_library
from photocap.library.values import SETTING_EMBED, SETTING_WRITE_SIDECARS
from photocap.metadata import read_descriptions

from .conftest import make_photo

SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmp:Rating="5">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:description>
<dc:subject><rdf:Bag><rdf:li>Bled</rdf:li><rdf:li>rowing</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def _described_folder(photo_dir):
    make_photo(photo_dir / "lake.jpg", "blue", seed=1)
    (photo_dir / "lake.jpg.xmp").write_text(SIDECAR.format(text="Grandma rowing on Lake Bled"))
    make_photo(photo_dir / "cake.jpg", "yellow", seed=2)
    (photo_dir / "cake.jpg.json").write_text(json.dumps({"description": "Ana's birthday cake"}))
    exif = Image.Exif()
    exif[0x010E] = "OLYMPUS DIGITAL CAMERA"
    Image.new("RGB", (40, 30), "green").save(photo_dir / "junk.jpg", exif=exif)
    make_photo(photo_dir / "plain.jpg", "red", seed=3)


def test_scan_imports_descriptions_and_keywords(tmp_path, photo_dir):
    _described_folder(photo_dir)
    with open_library(tmp_path / "lib.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        lake = lib.photo_detail(lib.photo_by_path(photo_dir / "lake.jpg").id)
        assert (lake.caption, lake.caption_source, lake.caption_model) == (
            "Grandma rowing on Lake Bled",
            "imported",
            "XMP sidecar",
        )
        assert lake.reviewed and [t for t, _ in lake.tags] == ["Bled", "rowing"]
        assert [(h.text, h.source, h.model_id) for h in lake.history] == [
            ("Grandma rowing on Lake Bled", "imported", "XMP sidecar")
        ]
        cake = lib.photo_detail(lib.photo_by_path(photo_dir / "cake.jpg").id)
        assert (cake.caption, cake.caption_model) == ("Ana's birthday cake", "Google Takeout")
        assert lib.photo_detail(lib.photo_by_path(photo_dir / "junk.jpg").id).caption is None
        # found by words of the description and by keywords; imported ones are not queued for the captioner
        assert [h.path for h in lib.search("rowing")] == [str(photo_dir / "lake.jpg")]
        assert [h.path for h in lib.search("birthday")] == [str(photo_dir / "cake.jpg")]
        assert sorted(os.path.basename(r.path) for r in lib.photos_needing_caption("tags-v1")) == [
            "junk.jpg",
            "plain.jpg",
        ]


def test_the_tagger_never_replaces_imported_captions_or_keywords(tmp_path, photo_dir):
    _described_folder(photo_dir)
    with open_library(tmp_path / "lib.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        lake = lib.photo_by_path(photo_dir / "lake.jpg")
        assert lib.record_caption(lake.id, "canoe, paddle", "tags", "tags-v1", tags=[("canoe", 0.7)])
        detail = lib.photo_detail(lake.id)
        # record_caption is the tagger's path for photos it was given; imported keywords survive it
        assert sorted(t for t, _ in detail.tags) == ["Bled", "canoe", "rowing"]


def test_a_sidecar_changed_by_another_app_is_read_back(tmp_path, photo_dir):
    _described_folder(photo_dir)
    with open_library(tmp_path / "lib.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        side = photo_dir / "lake.jpg.xmp"
        side.write_text(SIDECAR.format(text="Grandma and Rosa rowing on Lake Bled"))
        st = side.stat()
        os.utime(side, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        report = scan(lib, photo_dir)  # the photo itself did not change; its sidecar did
        assert report.updated == 1
        lake = lib.photo_detail(lib.photo_by_path(photo_dir / "lake.jpg").id)
        assert lake.caption == "Grandma and Rosa rowing on Lake Bled"
        assert [h.text for h in lake.history] == ["Grandma rowing on Lake Bled", "Grandma and Rosa rowing on Lake Bled"]
        assert scan(lib, photo_dir).updated == 0  # and not again


def test_watcher_batch_with_a_sidecar_rereads_its_photo(tmp_path, photo_dir):
    _described_folder(photo_dir)
    with open_library(tmp_path / "lib.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        side = photo_dir / "plain.jpg.xmp"
        side.write_text(SIDECAR.format(text="A red wall in Piran"))
        apply_changes(lib, [Change("created", str(side))])
        assert lib.photo_detail(lib.photo_by_path(photo_dir / "plain.jpg").id).caption == "A red wall in Piran"


def test_user_caption_is_never_replaced_by_a_sidecar(tmp_path, photo_dir):
    _described_folder(photo_dir)
    with open_library(tmp_path / "lib.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        lake = lib.photo_by_path(photo_dir / "lake.jpg")
        lib.set_user_caption(lake.id, "my own words")
        side = photo_dir / "lake.jpg.xmp"
        side.write_text(SIDECAR.format(text="something else"))
        os.utime(side, ns=(side.stat().st_atime_ns, side.stat().st_mtime_ns + 2_000_000_000))
        scan(lib, photo_dir)
        detail = lib.photo_detail(lake.id)
        assert (detail.caption, detail.caption_source) == ("my own words", "user")


def test_edits_go_to_sidecars_and_a_second_library_reads_them(tmp_path, photo_dir):
    make_photo(photo_dir / "dog.jpg", "orange", seed=4)
    with open_library(tmp_path / "a.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        dog = lib.photo_by_path(photo_dir / "dog.jpg")
        assert lib.set_user_caption(dog.id, "Rex  waiting at the door") is None  # setting off: nothing written
        assert not (photo_dir / "dog.jpg.xmp").exists()
        lib.set_setting(SETTING_WRITE_SIDECARS, True)
        assert lib.set_user_caption(dog.id, "Rex waiting at the door, again") is None
    assert read_descriptions(photo_dir / "dog.jpg").description == "Rex waiting at the door, again"
    copy = tmp_path / "copy"
    shutil.copytree(photo_dir, copy)
    with open_library(tmp_path / "b.sqlite") as lib2:
        lib2.add_folder(copy)
        scan(lib2, copy)
        d = lib2.photo_detail(lib2.photo_by_path(copy / "dog.jpg").id)
        assert (d.caption, d.caption_source) == ("Rex waiting at the door, again", "imported")


def test_embedding_and_a_failed_metadata_write_is_reported_not_hidden(tmp_path, photo_dir, monkeypatch):
    make_photo(photo_dir / "cat.jpg", "gray", seed=5)
    with open_library(tmp_path / "a.sqlite") as lib:
        lib.add_folder(photo_dir)
        scan(lib, photo_dir)
        cat = lib.photo_by_path(photo_dir / "cat.jpg")
        lib.set_setting(SETTING_EMBED, True)
        assert lib.set_user_caption(cat.id, "Mitzi on the stairs") is None
        assert read_descriptions(photo_dir / "cat.jpg").origin == "XMP"  # inside the file, no sidecar
        assert not (photo_dir / "cat.jpg.xmp").exists()
        monkeypatch.setattr("photocap.metadata.write.os.access", lambda p, m: False)
        problem = lib.set_user_caption(cat.id, "Mitzi on the stairs, asleep")
        assert problem is not None and "read-only" in problem
        assert lib.photo_detail(cat.id).caption == "Mitzi on the stairs, asleep"  # saved in the library all the same
