"""Descriptions in and beside photos, as digiKam, Lightroom, Google Takeout and cameras leave them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from photocap.metadata import (
    MetadataWriteError,
    embed,
    is_junk,
    read_descriptions,
    target_sidecar,
    write_sidecar,
)
from photocap.metadata.read import ORIGIN_EXIF, ORIGIN_IPTC, ORIGIN_TAKEOUT, ORIGIN_XMP, ORIGIN_XMP_SIDECAR

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) not installed")

DIGIKAM_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="4"
   exif:PixelXDimension="4000">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/Family/Grandma Rosa</rdf:li>
     <rdf:li>Places/Lake Bled</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>People|Family|Grandma Rosa</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <dc:description>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Grandma Rosa rowing on Lake Bled</rdf:li>
     <rdf:li xml:lang="de-DE">Oma Rosa rudert auf dem Bleder See</rdf:li>
    </rdf:Alt>
   </dc:description>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Grandma Rosa</rdf:li>
     <rdf:li>Lake Bled</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""

LIGHTROOM_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   crs:Version="15.0" crs:Exposure2012="+0.35" crs:WhiteBalance="As Shot">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Fog over the pier at dawn</rdf:li></rdf:Alt></dc:description>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Coast|Pier</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _photo(path: Path, color="red") -> Path:
    Image.new("RGB", (64, 48), color).save(path)
    return path


def test_digikam_sidecar_description_and_keywords(tmp_path):
    photo = _photo(tmp_path / "rosa.jpg")
    (tmp_path / "rosa.jpg.xmp").write_text(DIGIKAM_SIDECAR, encoding="utf-8")
    found = read_descriptions(photo)
    assert found.description == "Grandma Rosa rowing on Lake Bled"  # x-default, not the German
    assert found.origin == ORIGIN_XMP_SIDECAR
    assert found.keywords == ["Grandma Rosa", "Lake Bled"]  # hierarchies keep their last level, no repeats


def test_lightroom_sidecar_named_without_photo_extension(tmp_path):
    photo = _photo(tmp_path / "pier.jpg")
    (tmp_path / "pier.xmp").write_text(LIGHTROOM_SIDECAR, encoding="utf-8")
    found = read_descriptions(photo)
    assert (found.description, found.origin) == ("Fog over the pier at dawn", ORIGIN_XMP_SIDECAR)
    assert found.keywords == ["Pier"]


def test_takeout_json(tmp_path):
    photo = _photo(tmp_path / "IMG_2041.jpg")
    (tmp_path / "IMG_2041.jpg.json").write_text(
        json.dumps(
            {
                "title": "IMG_2041.jpg",
                "description": "Birthday cake for Ana",
                "photoTakenTime": {"timestamp": "1500000000"},
            }
        )
    )
    found = read_descriptions(photo)
    assert (found.description, found.origin) == ("Birthday cake for Ana", ORIGIN_TAKEOUT)


def test_takeout_truncated_name(tmp_path):
    name = "a-very-long-file-name-from-a-phone-camera-2019-07-14.jpg"
    photo = _photo(tmp_path / name)
    (tmp_path / (name[:46] + ".json")).write_text(json.dumps({"description": "Long name, still found"}))
    assert read_descriptions(photo).description == "Long name, still found"


def test_sidecar_outranks_embedded(tmp_path):
    photo = tmp_path / "x.jpg"
    exif = Image.Exif()
    exif[0x010E] = "from the camera file"
    Image.new("RGB", (32, 32)).save(photo, exif=exif)
    assert read_descriptions(photo).description == "from the camera file"
    (tmp_path / "x.jpg.xmp").write_text(LIGHTROOM_SIDECAR)
    assert read_descriptions(photo).origin == ORIGIN_XMP_SIDECAR


@pytest.mark.parametrize(
    "junk",
    [
        "OLYMPUS DIGITAL CAMERA",
        "SONY DSC",
        "  ",
        "",
        "DSC_0042",
        "IMG_1234.JPG",
        "          ",
        "___",
        "KODAK Digital Still Camera",
        "Default",
    ],
)
def test_camera_junk_is_ignored(tmp_path, junk):
    photo = tmp_path / "j.jpg"
    exif = Image.Exif()
    exif[0x010E] = junk
    exif[0x010F] = "OLYMPUS IMAGING CORP."
    Image.new("RGB", (16, 16)).save(photo, exif=exif)
    assert read_descriptions(photo).description is None


def test_a_language_tag_written_as_the_description_is_ignored(tmp_path):
    """KDE's Kite wallpaper says dc:description "x-default" (the language tag, not a text)."""
    photo = _photo(tmp_path / "kite.jpg")
    (tmp_path / "kite.jpg.xmp").write_text(
        LIGHTROOM_SIDECAR.replace("Fog over the pier at dawn", "x-default"), encoding="utf-8"
    )
    found = read_descriptions(photo)
    assert found.description is None
    assert found.keywords == ["Pier"]  # the rest of the sidecar still counts


def test_junk_rule_keeps_real_sentences():
    assert not is_junk("Canon of Pachelbel played at the wedding")
    assert not is_junk("Dog")
    assert is_junk("NIKON D750", camera="NIKON CORPORATION NIKON D750")


@needs_exiftool
@pytest.mark.parametrize("fmt", ["jpg", "png", "tif", "webp"])
def test_files_written_by_exiftool(tmp_path, fmt):
    """Real files as exiftool writes them: XMP in each format, IPTC and EXIF in JPEG."""
    photo = _photo(tmp_path / f"p.{fmt}")
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            "-overwrite_original",
            "-XMP-dc:Description=Snow on the Julian Alps",
            "-XMP-dc:Subject=mountain",
            "-XMP-dc:Subject=snow",
            str(photo),
        ],
        check=True,
    )
    found = read_descriptions(photo)
    assert (found.description, found.origin) == ("Snow on the Julian Alps", ORIGIN_XMP)
    assert found.keywords == ["mountain", "snow"]


@needs_exiftool
def test_iptc_and_exif_written_by_exiftool(tmp_path):
    iptc = _photo(tmp_path / "iptc.jpg")
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            "-overwrite_original",
            "-charset",
            "iptc=UTF8",
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:Caption-Abstract=Café terrace in Ljubljana",
            "-IPTC:Keywords=café",
            "-IPTC:Keywords=evening",
            str(iptc),
        ],
        check=True,
    )
    found = read_descriptions(iptc)
    assert (found.description, found.origin) == ("Café terrace in Ljubljana", ORIGIN_IPTC)
    assert found.keywords == ["café", "evening"]
    ex = _photo(tmp_path / "exif.jpg")
    subprocess.run(
        [
            EXIFTOOL,
            "-q",
            "-overwrite_original",
            "-EXIF:ImageDescription=Kite over the dunes",
            "-EXIF:XPComment=ignored, ImageDescription comes first",
            str(ex),
        ],
        check=True,
    )
    assert (read_descriptions(ex).description, read_descriptions(ex).origin) == ("Kite over the dunes", ORIGIN_EXIF)


@needs_exiftool
def test_xpcomment_when_nothing_else(tmp_path):
    ex = _photo(tmp_path / "xp.jpg")
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", "-EXIF:XPComment=Written in Windows Explorer", str(ex)], check=True
    )
    assert read_descriptions(ex).description == "Written in Windows Explorer"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>&lol3;</dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>&xxe;</dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<x:xmpmeta><unclosed", "\x00\xff garbage"])
def test_hostile_sidecars_are_refused_and_the_rest_still_read(tmp_path, hostile):
    photo = tmp_path / "h.jpg"
    exif = Image.Exif()
    exif[0x010E] = "the embedded description"
    Image.new("RGB", (16, 16)).save(photo, exif=exif)
    (tmp_path / "h.jpg.xmp").write_text(hostile, encoding="utf-8", errors="surrogateescape")
    found = read_descriptions(photo)
    assert found.description == "the embedded description"  # nothing from the sidecar, no passwd, no bomb
    assert found.problems and found.problems[0].startswith("h.jpg.xmp:")
    with pytest.raises(MetadataWriteError, match="not a sidecar photocap can safely update"):
        write_sidecar(photo, "mine")
    assert (tmp_path / "h.jpg.xmp").read_text(encoding="utf-8", errors="surrogateescape") == hostile


def test_write_sidecar_merges_with_other_fields(tmp_path):
    photo = _photo(tmp_path / "rosa.jpg")
    side = tmp_path / "rosa.jpg.xmp"
    side.write_text(DIGIKAM_SIDECAR, encoding="utf-8")
    assert write_sidecar(photo, "Rosa and the boat, 1987") == side
    text = side.read_text(encoding="utf-8")
    assert 'xmp:Rating="4"' in text and "People/Family/Grandma Rosa" in text and "Lake Bled" in text
    found = read_descriptions(photo)
    assert (found.description, found.origin) == ("Rosa and the boat, 1987", ORIGIN_XMP_SIDECAR)
    assert [p.name for p in tmp_path.iterdir() if "photocap-tmp" in p.name] == []


def test_write_sidecar_creates_digikam_style_and_keeps_lightroom_style(tmp_path):
    a = _photo(tmp_path / "a.jpg")
    assert write_sidecar(a, "new one") == tmp_path / "a.jpg.xmp"
    assert read_descriptions(a).description == "new one"
    b = _photo(tmp_path / "b.jpg")
    (tmp_path / "b.xmp").write_text(LIGHTROOM_SIDECAR)
    assert target_sidecar(b) == tmp_path / "b.xmp"
    write_sidecar(b, "edited in photocap")
    assert 'crs:Exposure2012="+0.35"' in (tmp_path / "b.xmp").read_text()
    assert not (tmp_path / "b.jpg.xmp").exists()


def test_write_sidecar_read_only_folder_says_why(tmp_path, monkeypatch):
    photo = _photo(tmp_path / "ro.jpg")
    monkeypatch.setattr("photocap.metadata.write.os.access", lambda p, mode: False)  # root ignores chmod
    with pytest.raises(MetadataWriteError, match="read-only"):
        write_sidecar(photo, "x")
    assert not (tmp_path / "ro.jpg.xmp").exists()


def test_failed_write_leaves_the_old_sidecar(tmp_path, monkeypatch):
    photo = _photo(tmp_path / "k.jpg")
    side = tmp_path / "k.jpg.xmp"
    side.write_text(DIGIKAM_SIDECAR, encoding="utf-8")

    def boom(*a, **k):
        raise MetadataWriteError("exiv2 cannot write it: disk full")

    monkeypatch.setattr("photocap.metadata.write._set_description", boom)
    with pytest.raises(MetadataWriteError):
        write_sidecar(photo, "x")
    assert side.read_text(encoding="utf-8") == DIGIKAM_SIDECAR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.jpg", "k.jpg.xmp"]  # no temporary left


@pytest.mark.parametrize("fmt", ["jpg", "png", "tif", "webp"])
def test_embed_keeps_pixels_and_is_read_back(tmp_path, fmt):
    photo = tmp_path / f"e.{fmt}"
    Image.effect_noise((40, 30), 50).convert("RGB").save(photo)
    before = Image.open(photo).convert("RGB").tobytes()
    embed(photo, "Embedded in the file")
    assert Image.open(photo).convert("RGB").tobytes() == before
    found = read_descriptions(photo)
    assert (found.description, found.origin) == ("Embedded in the file", ORIGIN_XMP)


def test_embed_refuses_heic_gif_bmp(tmp_path):
    for name in ("a.heic", "b.gif", "c.bmp"):
        with pytest.raises(MetadataWriteError, match="use a sidecar"):
            embed(tmp_path / name, "x")
