"""Open, orient, decode and shrink photos. Pillow only: no torch, no Qt, no database.

Every failure is an :class:`ImageError` subclass that carries the file and a reason a
person can read, so callers can record it and move on to the next photo.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF (iPhone photos); optional at run time so a missing wheel is not fatal
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIF_AVAILABLE = False

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that. We refuse anything
# bigger than this ourselves, before decoding, with a clear message.
MAX_PIXELS = 180_000_000  # a 16k x 11k panorama still opens; a 50k x 50k "bomb" does not
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
        ".heic", ".heif", ".hif",
    }
)
# Magic numbers: content type, whatever the extension says.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),
    (0, b"II*\x00"),  # TIFF little endian
    (0, b"MM\x00*"),  # TIFF big endian
)


class ImageError(Exception):
    """A photo that could not be read. ``reason`` is short and meant for people."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnreadableFile(ImageError):
    """Missing, a directory, or no permission to read."""


class UnsupportedFormat(ImageError):
    """Not an image format photocap can decode."""


class CorruptImage(ImageError):
    """The header looked like an image but the data is damaged or truncated."""


class ImageTooLarge(ImageError):
    """More pixels than we agree to decode (decompression-bomb guard)."""


def looks_like_photo(path: str | Path) -> bool:
    """True when the name or the first bytes say this is an image we can open."""
    p = Path(path)
    if p.suffix.lower() in PHOTO_EXTENSIONS:
        return True
    try:
        with open(p, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if any(head[off : off + len(sig)] == sig for off, sig in _SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif")


def _open(path: str | Path) -> Image.Image:
    p = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(p)
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        raise UnreadableFile(p, _os_reason(exc)) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(p, f"too many pixels to decode safely (limit {MAX_PIXELS:,})") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat(p, "not a recognised image format") from exc
    except OSError as exc:
        raise UnreadableFile(p, _os_reason(exc)) from exc
    w, h = im.size
    if w <= 0 or h <= 0:
        raise CorruptImage(p, f"impossible size {w}x{h}")
    if w * h > MAX_PIXELS:
        im.close()
        raise ImageTooLarge(p, f"{w}x{h} is more pixels than photocap decodes (limit {MAX_PIXELS:,})")
    return im


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    return exc.strerror or str(exc)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: palettes and alpha over white, CMYK, 16-bit, float."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if im.mode.startswith("I;16"):
            lo, hi = 0.0, 65535.0
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def load_rgb(path: str | Path, min_size: int | tuple[int, int] | None = None) -> Image.Image:
    """Decode ``path`` to an upright 8-bit RGB image.

    With ``min_size`` a JPEG is decoded in draft mode: libjpeg scales by 1/2, 1/4 or 1/8
    while both sides stay at least ``min_size`` (measured: 2.5x faster for a 2560x1600
    baseline JPEG). ``min_size`` applies to the photo as stored (before EXIF rotation),
    which is fine for the square sizes photocap asks for.
    """
    p = Path(path)
    im = _open(p)
    try:
        if min_size is not None and im.format == "JPEG":
            want = (min_size, min_size) if isinstance(min_size, int) else tuple(min_size)
            if im.info.get("progressive") and im.width // 8 >= want[0] and im.height // 8 >= want[1]:
                im = _open_dc_only(p, im)
            im.draft("RGB", want)
        im.load()
        im = ImageOps.exif_transpose(im)
        return to_rgb(im)
    except ImageError:
        raise
    except (Image.DecompressionBombError, MemoryError) as exc:
        raise ImageTooLarge(p, "too large to decode") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        msg = str(exc) or exc.__class__.__name__
        if "truncated" in msg:
            msg = "file is truncated (incomplete download or copy?)"
        raise CorruptImage(p, f"damaged image data: {msg}") from exc


_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # a marker, not stuffing, restart or fill


def jpeg_dc_scans_only(data: bytes) -> bytes | None:
    """A progressive JPEG cut down to its headers and DC scans; None if that does not apply.

    At 1/8 scale libjpeg keeps one value per 8x8 block, the DC coefficient, so the AC scans
    (most of a progressive file) are work thrown away. Dropping them before decoding gives
    the same picture to within rounding (libjpeg smooths blocks whose AC it has not seen:
    mean difference 0.4-0.7 of 255) at 2-2.5x the speed on big photos (measured: 5120x2880,
    197 -> 79 ms). A file without an end marker (truncated) gives None, so it is decoded -
    and reported - the normal way.
    """
    if data[:2] != b"\xff\xd8":
        return None
    out, i, n, dropped = [data[:2]], 2, len(data), False
    while i + 2 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # end of image
            out.append(data[i : i + 2])
            return b"".join(out) if dropped else None
        if i + 4 > n:
            return None
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > n:
            return None
        if marker == 0xDA:  # start of scan: header, then entropy-coded data up to the next marker
            components = data[i + 4]
            spectral_start = data[i + 5 + 2 * components]
            nxt = _JPEG_MARKER.search(data, end)
            if nxt is None:
                return None
            if spectral_start == 0:
                out.append(data[i : nxt.start()])
            else:
                dropped = True
            i = nxt.start()
            continue
        out.append(data[i:end])
        i = end
    return None


def _open_dc_only(path: Path, im: Image.Image) -> Image.Image:
    """``im`` reopened from its DC scans alone, or ``im`` itself when that is not possible."""
    try:
        slim = jpeg_dc_scans_only(path.read_bytes())
        if slim is None:
            return im
        fast = Image.open(io.BytesIO(slim))
    except (OSError, ValueError, SyntaxError):
        return im
    im.close()
    return fast


def load_for_model(path: str | Path, size: int = 224, resize: str = "squash") -> Image.Image:
    """The photo as the encoder wants it: ``size`` x ``size`` RGB.

    ``squash`` stretches the whole photo to a square (what EfficientNet-Lite0 prefers);
    ``center_crop`` resizes the short side to ``size`` and crops the middle.
    """
    im = load_rgb(path, min_size=size)
    if resize == "center_crop":
        return ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR)
    return im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)


def make_thumbnail(path: str | Path, size: int = 256) -> Image.Image:
    """An upright RGB thumbnail whose longer side is at most ``size``."""
    im = load_rgb(path, min_size=size)
    im.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return im


@dataclass(frozen=True)
class PhotoMeta:
    width: int
    height: int
    format: str | None
    taken_at: _dt.datetime | None
    camera: str | None


_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME = 0x0132
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_ORIENTATION = 0x0112


def read_meta(path: str | Path) -> PhotoMeta:
    """Size (as displayed, after EXIF rotation), date taken and camera, without decoding pixels."""
    im = _open(path)
    try:
        w, h = im.size
        taken = camera = None
        try:
            exif = im.getexif()
        except Exception:  # noqa: BLE001 - broken EXIF must not make the photo unreadable
            exif = None
        if exif:
            if exif.get(_TAG_ORIENTATION) in (5, 6, 7, 8):
                w, h = h, w
            ifd = exif.get_ifd(_EXIF_IFD) if _EXIF_IFD in exif else {}
            taken = _parse_exif_date(ifd.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME))
            camera = _camera_name(exif.get(_TAG_MAKE), exif.get(_TAG_MODEL))
        return PhotoMeta(w, h, im.format, taken, camera)
    finally:
        im.close()


def _parse_exif_date(value) -> _dt.datetime | None:
    if not value:
        return None
    text = str(value).strip().replace("\x00", "")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return _dt.datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return None


def _camera_name(make, model) -> str | None:
    make = str(make).strip().strip("\x00") if make else ""
    model = str(model).strip().strip("\x00") if model else ""
    if model.lower().startswith(make.lower()):
        make = ""
    name = f"{make} {model}".strip()
    return name or None


__all__ = [
    "CorruptImage", "HEIF_AVAILABLE", "ImageError", "ImageTooLarge", "MAX_PIXELS",
    "PHOTO_EXTENSIONS", "PhotoMeta", "UnreadableFile", "UnsupportedFormat", "load_for_model",
    "load_rgb", "looks_like_photo", "make_thumbnail", "read_meta", "to_rgb",
]
