"""Writing the user's captions where other applications find them.

* :func:`write_sidecar` puts the caption in the photo's XMP sidecar as ``dc:description``:
  the existing sidecar if there is one (either naming style), else ``photo.jpg.xmp`` (the
  digiKam and darktable style; Lightroom reads ``photo.xmp`` and so keeps its own). An
  existing sidecar is *merged*, not replaced: every other field (ratings, labels, keywords,
  develop settings) is kept as it was.
* :func:`embed` writes it into the photo itself (XMP ``dc:description`` and EXIF
  ``ImageDescription``), for JPEG, TIFF, PNG and WebP only: the formats exiv2 rewrites
  without touching the pixels. HEIC, GIF, BMP and anything else are refused with a reason
  (exiv2 cannot write XMP into them), so the caller falls back to the sidecar.

Both are atomic: the new version is written to a temporary file in the same folder,
flushed to disk, then renamed over the old one, so a crash leaves either the old file or
the new one, never half of each. exiv2 (through pyexiv2) does the XMP editing; an existing
sidecar is first parsed with defusedxml, so a hostile one (entity bombs, external
entities) is refused before exiv2 sees it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from photocap.metadata.read import MAX_XML_BYTES, parse_xmp, sidecar_paths

EMBED_FORMATS = {".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".png", ".webp"}

_EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
)


class MetadataWriteError(Exception):
    """The caption could not be written there; the message says why, for people."""


def _exiv2():
    try:
        import pyexiv2
    except ImportError as exc:  # pragma: no cover - a dependency of photocap
        raise MetadataWriteError("writing metadata needs pyexiv2, which is not installed") from exc
    return pyexiv2


def target_sidecar(photo: str | os.PathLike) -> Path:
    """The sidecar a caption goes to: an existing one, else ``photo.ext.xmp``."""
    for side in sidecar_paths(photo):
        if os.path.isfile(side):
            return Path(side)
    p = Path(photo)
    return p.with_name(p.name + ".xmp")


def _set_description(path: str, caption: str, exif_too: bool) -> None:
    ex = _exiv2()
    try:
        img = ex.Image(path)
    except RuntimeError as exc:
        raise MetadataWriteError(f"exiv2 cannot open it: {exc}") from exc
    try:
        img.modify_xmp({"Xmp.dc.description": {'lang="x-default"': caption}})
        if exif_too:
            img.modify_exif({"Exif.Image.ImageDescription": caption})
    except RuntimeError as exc:
        raise MetadataWriteError(f"exiv2 cannot write it: {exc}") from exc
    finally:
        img.close()


def _replace_atomically(src: Path, build) -> None:
    """Write a new version of ``src`` through ``build(tmp_path)`` and rename it into place."""
    folder = src.parent
    if not os.access(folder, os.W_OK):
        raise MetadataWriteError(f"the folder {folder} is read-only")
    fd, tmp = tempfile.mkstemp(prefix=f".{src.name}.", suffix=".photocap-tmp", dir=folder)
    os.close(fd)
    try:
        build(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if src.exists():
            shutil.copymode(src, tmp)
        os.replace(tmp, src)
    except OSError as exc:
        raise MetadataWriteError(f"could not write {src.name}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_sidecar(photo: str | os.PathLike, caption: str) -> Path:
    """Write ``caption`` into the photo's XMP sidecar (merging with what is there); returns the sidecar."""
    side = target_sidecar(photo)
    existing: bytes | None = None
    if side.exists():
        try:
            if side.stat().st_size > MAX_XML_BYTES:
                raise MetadataWriteError(f"{side.name} is larger than 4 MB; left alone")
            existing = side.read_bytes()
        except OSError as exc:
            raise MetadataWriteError(f"{side.name} cannot be read: {exc.strerror or exc}") from exc
        try:
            parse_xmp(existing)
        except ValueError as exc:
            raise MetadataWriteError(f"{side.name} is not a sidecar photocap can safely update: {exc}") from exc

    def build(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(existing if existing is not None else _EMPTY_PACKET.encode("utf-8"))
        _set_description(tmp, caption, exif_too=False)

    _replace_atomically(side, build)
    return side


def can_embed(photo: str | os.PathLike) -> bool:
    return Path(photo).suffix.lower() in EMBED_FORMATS


def embed(photo: str | os.PathLike, caption: str) -> Path:
    """Write ``caption`` into the photo file itself (JPEG, TIFF, PNG, WebP), atomically."""
    p = Path(photo)
    if not can_embed(p):
        raise MetadataWriteError(
            f"captions are not written into {p.suffix or 'extension-less'} files "
            "(exiv2 cannot write XMP there); use a sidecar"
        )

    def build(tmp: str) -> None:
        shutil.copyfile(p, tmp)
        _set_description(tmp, caption, exif_too=True)

    _replace_atomically(p, build)
    return p
