"""Descriptions and keywords other applications left in and beside a photo.

Read, in this order of trust (the first good description wins; keywords are merged):

1. an XMP sidecar, ``photo.jpg.xmp`` (digiKam, darktable) or ``photo.xmp`` (Lightroom,
   Capture One): ``dc:description``; keywords ``dc:subject``, ``digiKam:TagsList``,
   ``lr:hierarchicalSubject`` (hierarchies keep their last level);
2. a Google Takeout sidecar, ``photo.jpg.json`` (also ``photo.jpg.supplemental-metadata.json``
   and Takeout's 46-character truncated names): ``description``;
3. the photo's embedded XMP packet, then IPTC ``Caption-Abstract`` / ``Keywords``, then EXIF
   ``ImageDescription``, then Windows' ``XPComment``.

A sidecar is where a photo manager keeps what the user wrote last, so it outranks the file.
Nothing here decodes pixels: Pillow opens the header only. XML is parsed with defusedxml
(sidecars are untrusted: entity expansion, external entities and DTDs are refused) and a
packet or sidecar over 4 MB is ignored. The text cameras write by themselves ("OLYMPUS
DIGITAL CAMERA", "SONY DSC", ...) is not a description and is dropped (:func:`is_junk`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from PIL import Image, ImageFile, IptcImagePlugin

MAX_XML_BYTES = 4 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "xml": "http://www.w3.org/XML/1998/namespace",
}

# Origins, as stored in the caption history and shown in the detail panel.
ORIGIN_XMP_SIDECAR = "XMP sidecar"
ORIGIN_TAKEOUT = "Google Takeout"
ORIGIN_XMP = "XMP"
ORIGIN_IPTC = "IPTC"
ORIGIN_EXIF = "EXIF"
ORIGIN_XPCOMMENT = "Windows comment"

_TAG_IMAGE_DESCRIPTION = 0x010E
_TAG_XP_COMMENT = 0x9C9C
_TAG_MAKE, _TAG_MODEL = 0x010F, 0x0110

# What cameras and editors write into ImageDescription by themselves (compared case-folded,
# with runs of spaces squeezed). Found in the wild: the camera's make or model, firmware
# placeholders, software names.
_JUNK = {
    "olympus digital camera",
    "sony dsc",
    "digital camera",
    "minolta digital camera",
    "kodak digital still camera",
    "default",
    "x-default",  # an XMP language tag written as the text (KDE's Kite and ColorfulCups wallpapers)
    'lang="x-default"',  # exiv2's way of printing an empty language alternative
    "camera",
    "image",
    "picture",
    "photo",
    "dcim",
    "exif_jpeg_picture",
    "jfif",
    "created with gimp",
    "lead technologies inc. v1.01",
    "samsung",
    "samsung digital camera",
    "<kenox s630 / samsung s630>",
    "hdr",
    "panasonic",
    "nikon",
    "canon",
    "fujifilm",
    "casio",
    "sanyo",
    "ricoh",
    "pentax",
    "vivitar",
    "my beautiful picture",
    "title",
    "untitled",
    "description",
    "no description",
    "none",
    "null",
    "screenshot",
    "bytedance",
    "mms_img",
    "hpim",
    "img",
    "dsc",
    "dscn",
    "dscf",
    "p1000",
    "sam_",
    "gopro",
}
_JUNK_PATTERN = re.compile(
    r"^(?:img|dsc|dscn|dscf|dsc_|imgp|pict|p\d{3}|sam|hpim|mvc|cimg|gopr)[_ -]?\d*(?:\.\w{2,4})?$"  # file-name-like
    r"|^[\W_\d]*$",  # punctuation, numbers, nothing
    re.IGNORECASE,
)


@dataclass
class Described:
    """What was found: ``description`` (or None), where it came from, and keywords (in order, no repeats)."""

    description: str | None = None
    origin: str | None = None
    keywords: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # e.g. a sidecar that could not be read, and why

    def add_keywords(self, words) -> None:
        seen = {k.casefold() for k in self.keywords}
        for w in words:
            w = _clean(w)
            if w and w.casefold() not in seen:
                seen.add(w.casefold())
                self.keywords.append(w)

    def offer(self, text: str | bytes | None, origin: str, camera: str = "") -> None:
        if self.description is None:
            text = _clean(text)
            if text and not is_junk(text, camera):
                self.description, self.origin = text, origin


def _clean(text) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = _decode(text)
    return " ".join(str(text).replace("\x00", " ").split())


def _decode(raw: bytes) -> str:
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def is_junk(text: str, camera: str = "") -> bool:
    """True for what a camera or editor writes by itself, and for text that says nothing."""
    t = " ".join(text.split()).casefold()
    if not t or t in _JUNK or _JUNK_PATTERN.match(t):
        return True
    cam = " ".join(camera.split()).casefold()
    return bool(cam) and t in cam  # the make or model, alone


def sidecar_paths(photo: str | os.PathLike) -> list[str]:
    """The XMP sidecars a photo may have, in the order they are trusted (plain strings: a scan asks often)."""
    p = os.fspath(photo)
    stem = os.path.splitext(p)[0]
    return [p + ".xmp", p + ".XMP", stem + ".xmp", stem + ".XMP"]


def takeout_paths(photo: str | os.PathLike) -> list[str]:
    p = os.fspath(photo)
    out = [p + ".json", p + ".supplemental-metadata.json"]
    folder, name = os.path.split(p)
    if len(name) > 46:  # Takeout cuts long names to 46 characters before adding ".json"
        out.append(os.path.join(folder, name[:46] + ".json"))
    return out


def _existing(paths: list[str]) -> str | None:
    for p in paths:
        if os.path.isfile(p):
            return p
    return None


SIDECAR_SUFFIXES = (".xmp", ".json")


def newest_sidecar(photo: str, known: dict[str, int] | None = None) -> int:
    """The newest mtime (ns) among the photo's sidecars, 0 if it has none. ``known`` (path -> mtime,
    as a directory listing gives them) saves the ``stat`` calls; without it the disk is asked."""
    newest = 0
    for key in (*sidecar_paths(photo), *takeout_paths(photo)):
        if known is not None:
            newest = max(newest, known.get(key, 0))
            continue
        try:
            newest = max(newest, os.stat(key).st_mtime_ns)
        except OSError:
            continue
    return newest


def photos_for_sidecar(sidecar: str) -> list[str]:
    """The photo files a sidecar may belong to (those that exist), e.g. for a watcher event on it."""
    folder, name = os.path.split(sidecar)
    low = name.lower()
    if low.endswith(".supplemental-metadata.json"):
        stems = [name[: -len(".supplemental-metadata.json")]]
    elif low.endswith((".xmp", ".json")):
        base = name[: name.rfind(".")]
        stems = [base]
        if low.endswith(".xmp") and "." not in base:  # Lightroom style: photo.xmp for photo.<any>
            try:
                stems += [
                    e
                    for e in os.listdir(folder or ".")
                    if e.startswith(base + ".") and not e.lower().endswith(SIDECAR_SUFFIXES)
                ]
            except OSError:
                pass
    else:
        return []
    out = []
    for stem in dict.fromkeys(stems):
        p = os.path.join(folder, stem)
        if os.path.isfile(p):
            out.append(p)
        elif low.endswith(".json") and len(stem) == 46:  # a Takeout name cut to 46 characters
            try:
                out += [
                    os.path.join(folder, e)
                    for e in os.listdir(folder or ".")
                    if e.startswith(stem) and not e.lower().endswith(SIDECAR_SUFFIXES)
                ]
            except OSError:
                pass
    return out


def read_descriptions(path: str | os.PathLike) -> Described:
    """Everything :mod:`photocap.metadata` can find for the photo at ``path``; never raises."""
    found = Described()
    side = _existing(sidecar_paths(path))
    if side is not None:
        _read_sidecar(Path(side), found)
    takeout = _existing(takeout_paths(path))
    if takeout is not None:
        _read_takeout(Path(takeout), found)
    try:
        with Image.open(path) as im:
            _read_embedded(im, found)
    except Exception as exc:
        found.problems.append(f"embedded metadata not read: {type(exc).__name__}")
    return found


def _read_sidecar(side: Path, found: Described) -> None:
    try:
        if side.stat().st_size > MAX_XML_BYTES:
            found.problems.append(f"{side.name}: sidecar larger than 4 MB, ignored")
            return
        data = side.read_bytes()
    except OSError as exc:
        found.problems.append(f"{side.name}: {exc.strerror or 'cannot be read'}")
        return
    _read_xmp(data, found, ORIGIN_XMP_SIDECAR, side.name)


def parse_xmp(data: bytes):
    """The XMP packet's root element, parsed safely; raises ValueError with a reason."""
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    if start < 0:
        raise ValueError("no XMP packet")
    end = data.rfind(b"</x:xmpmeta>")
    body = data[start : end + len(b"</x:xmpmeta>")] if end > start else data[start:]
    if b"<!DOCTYPE" in data[:start] or b"<!ENTITY" in data:
        raise ValueError("XML with entity declarations refused")
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValueError(f"unsafe XML refused ({type(exc).__name__})") from exc
    except SafeET.ParseError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from exc


def _read_xmp(data: bytes, found: Described, origin: str, label: str) -> None:
    try:
        root = parse_xmp(data)
    except ValueError as exc:
        found.problems.append(f"{label}: {exc}")
        return
    desc, keywords = xmp_fields(root)
    found.offer(desc, origin)
    found.add_keywords(keywords)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def xmp_fields(root) -> tuple[str | None, list[str]]:
    """``dc:description`` (x-default, else the first language) and keywords from a parsed packet."""
    description = None
    keywords: list[str] = []
    for d in root.iter(_q("rdf", "Description")):
        if description is None:
            node = d.find(_q("dc", "description"))
            if node is not None:
                description = _alt_text(node)
            elif d.get(_q("dc", "description")):
                description = d.get(_q("dc", "description"))
        for tag, sep in (("dc", None), ("digiKam", "/"), ("lr", "|")):
            name = {"dc": "subject", "digiKam": "TagsList", "lr": "hierarchicalSubject"}[tag]
            node = d.find(_q(tag, name))
            if node is None:
                continue
            keywords.extend(li.text.split(sep)[-1] if sep else li.text for li in node.iter(_q("rdf", "li")) if li.text)
    return description, keywords


def _alt_text(node) -> str | None:
    items = list(node.iter(_q("rdf", "li")))
    for li in items:
        if li.get(_q("xml", "lang")) == "x-default" and li.text:
            return li.text
    for li in items:
        if li.text:
            return li.text
    return node.text if node.text and node.text.strip() else None


def _read_takeout(path: Path, found: Described) -> None:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        found.problems.append(f"{path.name}: not readable JSON ({type(exc).__name__})")
        return
    if isinstance(data, dict) and isinstance(data.get("description"), str):
        found.offer(data["description"], ORIGIN_TAKEOUT)


def _embedded_xmp(im: Image.Image) -> bytes | None:
    raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if raw is None and hasattr(im, "tag_v2"):
        raw = im.tag_v2.get(700)  # TIFF XMLPacket
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    return bytes(raw) if isinstance(raw, (bytes, bytearray)) and len(raw) <= MAX_XML_BYTES else None


def _read_embedded(im: ImageFile.ImageFile, found: Described) -> None:
    try:
        exif = im.getexif()
    except Exception:
        exif = Image.Exif()
    camera = " ".join(_clean(exif.get(t)) for t in (_TAG_MAKE, _TAG_MODEL)).strip() if exif else ""
    xmp = _embedded_xmp(im)
    if xmp:
        _read_xmp(bytes(xmp), found, ORIGIN_XMP, "embedded XMP")
    try:
        iptc = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:
        iptc = {}
    if iptc:
        utf8 = iptc.get((1, 90)) == b"\x1b%G"
        cap = iptc.get((2, 120))
        if isinstance(cap, list):
            cap = cap[0] if cap else None
        found.offer(cap.decode("utf-8", "replace") if utf8 and cap else cap, ORIGIN_IPTC, camera)
        kws = iptc.get((2, 25)) or []
        found.add_keywords(kws if isinstance(kws, list) else [kws])
    if exif:
        found.offer(exif.get(_TAG_IMAGE_DESCRIPTION), ORIGIN_EXIF, camera)
        xp = exif.get(_TAG_XP_COMMENT)
        if isinstance(xp, (bytes, tuple, list)):
            raw = bytes(xp)
            found.offer(raw.decode("utf-16-le", "replace").rstrip("\x00"), ORIGIN_XPCOMMENT, camera)
        elif isinstance(xp, str):
            found.offer(xp, ORIGIN_XPCOMMENT, camera)
