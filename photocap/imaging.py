"""Open, orient, decode and shrink photos. Pillow only: no torch, no Qt, no database.

Every failure is an :class:`ImageError` subclass that carries the file and a reason a
person can read, so callers can record it and move on to the next photo.
"""

from __future__ import annotations

import datetime as _dt
import errno
import io
import os
import re
import stat
import threading
import warnings
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
# Up to twice its limit Pillow only warns; _open checks the size itself and says so in
# photocap's words. Pillow's other warnings (odd TIFF tags...) are not for the user's eyes.
# (Module-wide filters: warnings.catch_warnings is not safe across decoding threads.)
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".webp",
        ".tif",
        ".tiff",
        ".bmp",
        ".gif",
        ".heic",
        ".heif",
        ".hif",
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


# Every reason photocap gives for a photo it cannot read, in its own words (never a library's
# message: those change between versions and mean nothing to the person reading them).
NOT_FOUND = "file not found"
PERMISSION_DENIED = "permission denied"
IS_FOLDER = "is a folder, not a file"
NOT_A_FILE = "not a regular file (a device, pipe or socket)"
LINK_LOOP = "a link that points to itself (link loop)"
DISK_ERROR = "the disk could not read it (input/output error)"
NOT_AN_IMAGE = "not an image, or a format photocap can't read"
EMPTY_FILE = "the file is empty (0 bytes)"
HEIF_MISSING = "a HEIC/HEIF photo, and this photocap has no HEIC support (install pillow-heif)"
TRUNCATED = "the file is cut short (truncated)"
DAMAGED = "the image data is damaged"
NO_MEMORY = "not enough memory to decode it"


def too_large_reason(width: int, height: int) -> str:
    return f"image too large: {width}×{height}, more than {MAX_PIXELS // 1_000_000} megapixels"


def over_budget_reason(need: int, limit: int) -> str:
    return f"needs {_megabytes(need)} of memory to decode, more than photocap's decoding budget of {_megabytes(limit)}"


def _megabytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{max(1, round(n / 2**20))} MB"


class ImageError(Exception):
    """A photo that could not be read. ``reason`` is short and meant for people."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnreadableFile(ImageError):
    """Missing, a directory, not a regular file, or no permission to read."""


class UnsupportedFormat(ImageError):
    """Not an image format photocap can decode."""


class CorruptImage(ImageError):
    """The header looked like an image but the data is damaged or truncated."""


class ImageTooLarge(ImageError):
    """More pixels, or more memory to decode, than photocap agrees to spend on one photo."""


# ---- the decoding memory budget ---------------------------------------------------------


class OverBudget(Exception):
    """A request bigger than the whole budget: it could never be granted."""

    def __init__(self, need: int, limit: int):
        self.need, self.limit = need, limit
        super().__init__(over_budget_reason(need, limit))


class MemoryBudget:
    """Bytes of decoded pixels that may exist at once, shared by every decoding thread.

    A decoder reserves what its photo will cost before decoding and gives it back once
    the full-size pixels are gone, so N parallel decoders never hold more than ``limit``
    together: with big photos they take turns, with small ones they all run. Requests are
    served in order (a big photo is not starved by a stream of small ones).
    """

    def __init__(self, limit: int):
        self.limit = int(limit)
        self._used = 0
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self.peak = 0  # the most ever reserved at once (for tests and benchmarks)

    @property
    def in_use(self) -> int:
        return self._used

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        if nbytes > self.limit:
            raise OverBudget(nbytes, self.limit)
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                self._cond.wait_for(lambda: self._queue[0] is ticket and self._used + nbytes <= self.limit)
                self._used += nbytes
                self.peak = max(self.peak, self._used)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()


def default_budget_bytes() -> int:
    """``PHOTOCAP_DECODE_MEMORY_MB`` if set; else an eighth of the computer's memory,
    between 256 MB and 1 GB (1 GB decodes the largest photo photocap accepts, 180 MP)."""
    env = os.environ.get("PHOTOCAP_DECODE_MEMORY_MB", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env) * 2**20
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows, or an odd platform
        total = 8 * 2**30
    return int(min(2**30, max(2**28, total // 8)))


DECODE_BUDGET = MemoryBudget(default_budget_bytes())

# Bytes per pixel as Pillow holds a decoded image: 8-bit images with 2-4 bands and 32-bit
# ones ("I", "F") take 4; 16-bit grey ("I;16") 2; one band of 8 bits (or 1-bit) 1.
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
# Decoders that keep buffers of their own besides Pillow's image (measured on a 64 MP photo:
# WebP peaks at 4x the image, HEIF at 1.8x, TIFF through libtiff at 1.02x).
_DECODER_FACTOR = {"WEBP": 4.0, "HEIF": 2.0, "TIFF": 1.25}
# Modes Image.reduce cannot average directly: converted strip by strip first.
_STRIP_CONVERT = frozenset({"P", "PA", "1", "I;16", "I;16B", "I;16L", "I;16N", "La", "LAB"})
_STRIP_BYTES = 8 * 2**20
# A PNG that would take more than this decoded whole is decoded a strip at a time instead
# (~1.3x the CPU time of Pillow's own decoder, in a few strips of memory).
STREAM_ABOVE = 64 * 2**20


def bytes_per_pixel(mode: str) -> int:
    if mode in _ONE_BYTE_MODES:
        return 1
    return 2 if mode.startswith("I;16") else 4


def decode_cost(
    im: Image.Image, factor: int = 1, full_size: tuple[int, int] | None = None, streamed: bool = False
) -> int:
    """Peak bytes to decode ``im`` (as opened, after any draft) and reduce it by ``factor``.

    Counts the decoded pixels at their bit depth, the decoder's own buffers, a progressive
    JPEG's coefficient buffer (libjpeg keeps every coefficient of the full-size photo,
    whatever the draft scale), and the conversions to 8-bit RGB: at full size when nothing
    is reduced, otherwise on the small image plus the strips being converted.
    """
    w, h = im.size
    pixels = w * h
    if streamed:  # a PNG decoded a strip at a time: one strip in its six stages, and the result
        strip = max(factor * w * 4, min(_STRIP_BYTES, pixels * 4))
        return int(6 * strip + pixels // (factor * factor) * 4 * 3)
    cost = pixels * bytes_per_pixel(im.mode) * _DECODER_FACTOR.get(im.format or "", 1.0)
    if im.format == "JPEG" and im.info.get("progressive"):
        fw, fh = full_size or (w, h)
        layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
        hmax = max(layer[1] for layer in layers) or 1
        vmax = max(layer[2] for layer in layers) or 1
        cost += fw * fh * 2 * sum(layer[1] * layer[2] for layer in layers) / (hmax * vmax)
    if factor <= 1:
        cost += pixels * 4 * (0 if im.mode == "RGB" else 2)  # to RGB, and over white for alpha
    else:
        if im.mode in _STRIP_CONVERT:
            cost += min(2 * _STRIP_BYTES, pixels * 8)
        cost += pixels // (factor * factor) * 4 * 3
    return int(cost)


# ---- opening --------------------------------------------------------------------------


def looks_like_photo(path: str | Path) -> bool:
    """True when the name or the first bytes say this is an image we can open."""
    p = Path(path)
    if p.suffix.lower() in PHOTO_EXTENSIONS:
        return True
    try:
        with _open_file(p) as fh:
            head = fh.read(16)
    except (OSError, ImageError):
        return False
    if any(head[off : off + len(sig)] == sig for off, sig in _SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif")


def _open_file(path: Path) -> BinaryIO:
    """Open for reading without ever blocking: a FIFO or a device is refused, not waited on."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(path, _os_reason(exc)) from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableFile(path, IS_FOLDER)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(path, NOT_A_FILE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _open(path: str | Path) -> ImageFile.ImageFile:
    """The photo opened (header read, no pixels decoded); its file closes with ``_close``."""
    p = Path(path)
    fh = _open_file(p)
    try:
        im = Image.open(fh)
    except ImageError:
        fh.close()
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        fh.close()
        raise ImageTooLarge(p, _bomb_reason(exc)) from exc
    except UnidentifiedImageError as exc:
        empty = os.fstat(fh.fileno()).st_size == 0  # a copy that never finished, a placeholder
        fh.close()
        raise UnsupportedFormat(p, EMPTY_FILE if empty else _unsupported_reason(p)) from exc
    except Exception as exc:
        error = _decode_error(p, exc, fh)
        fh.close()
        raise error from exc
    im.photocap_file = fh  # type: ignore[attr-defined]  # Pillow's Image has no field for the file we opened
    w, h = im.size
    if w <= 0 or h <= 0:
        _close(im)
        raise CorruptImage(p, DAMAGED)
    if w * h > MAX_PIXELS:
        _close(im)
        raise ImageTooLarge(p, too_large_reason(w, h))
    return im


def _close(im: Image.Image, keep_pixels: bool = False) -> None:
    """Close the photo's file, and free its pixels too unless ``keep_pixels``."""
    fh = getattr(im, "photocap_file", None)
    if not keep_pixels:
        im.close()
    if fh is not None:
        fh.close()


def _bomb_reason(exc: Exception) -> str:
    m = re.search(r"\((\d+) pixels\)", str(exc))
    if m:
        return f"image too large: {int(m[1]) / 1e6:,.0f} megapixels, more than {MAX_PIXELS // 1_000_000} megapixels"
    return f"image too large: more than {MAX_PIXELS // 1_000_000} megapixels"


def _unsupported_reason(path: Path) -> str:
    if not HEIF_AVAILABLE and path.suffix.lower() in (".heic", ".heif", ".hif"):
        return HEIF_MISSING
    return NOT_AN_IMAGE


_ERRNO_REASONS = {
    errno.ENOENT: NOT_FOUND,
    errno.EACCES: PERMISSION_DENIED,
    errno.EPERM: PERMISSION_DENIED,
    errno.EISDIR: IS_FOLDER,
    errno.ELOOP: LINK_LOOP,
    errno.EIO: DISK_ERROR,
    errno.ENXIO: NOT_A_FILE,
    errno.ENODEV: NOT_A_FILE,
    errno.ENOTDIR: NOT_FOUND,
}


def _os_reason(exc: OSError) -> str:
    if exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    name = errno.errorcode.get(exc.errno or 0)
    return f"the file could not be read ({name})" if name else "the file could not be read"


def _declares_more_than_it_has(fh: BinaryIO | None) -> bool:
    """A RIFF (WebP) file whose header promises more bytes than the file holds: cut short."""
    if fh is None:
        return False
    try:
        fh.seek(0)
        head = fh.read(12)
        size = os.fstat(fh.fileno()).st_size
    except (OSError, ValueError):
        return False
    return head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") + 8 > size


def _decode_error(path: Path, exc: BaseException, fh: BinaryIO | None = None) -> ImageError:
    """A decoder's exception as an ImageError in photocap's words."""
    if isinstance(exc, ImageError):
        return exc
    if isinstance(exc, MemoryError):
        return ImageTooLarge(path, NO_MEMORY)
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageTooLarge(path, _bomb_reason(exc))
    if isinstance(exc, OSError) and exc.errno is not None:
        return UnreadableFile(path, _os_reason(exc))
    text = str(exc).lower()
    if (
        isinstance(exc, EOFError)
        or _declares_more_than_it_has(fh)
        or any(w in text for w in ("truncated", "end of file", "premature end", "not enough data", "unexpected end"))
    ):
        return CorruptImage(path, TRUNCATED)
    return CorruptImage(path, DAMAGED)


def reason_for(exc: BaseException) -> str:
    """The reason to show for any exception met while reading a photo."""
    if isinstance(exc, ImageError):
        return exc.reason
    return _decode_error(Path(""), exc).reason


# ---- decoding -------------------------------------------------------------------------


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: palettes and alpha over white, CMYK, 16-bit, float.

    16-bit grey keeps its full range (0-65535 to 0-255); 32-bit integer and float images
    are stretched from their darkest to their brightest value. Converted in strips of
    rows, so a big image never exists as float64.
    """
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im)
        if im.mode.startswith("I;16"):
            lo, hi = 0.0, 65535.0
        else:
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            if not (np.isfinite(lo) and np.isfinite(hi)):
                lo, hi = 0.0, 0.0
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        out = np.empty(arr.shape, dtype=np.uint8)
        step = max(1, _STRIP_BYTES // max(1, arr.shape[1] * 4))
        for y in range(0, arr.shape[0], step):
            rows = arr[y : y + step].astype(np.float32)
            np.nan_to_num(rows, copy=False)
            out[y : y + step] = np.clip((rows - lo) * scale, 0, 255)
        return Image.fromarray(out, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def reduce_factor(size: tuple[int, int], min_size: int | tuple[int, int] | None) -> int:
    """The largest whole factor that keeps both sides at least ``min_size``."""
    if min_size is None:
        return 1
    want = (min_size, min_size) if isinstance(min_size, int) else tuple(min_size)
    return max(1, min(size[0] // max(1, want[0]), size[1] // max(1, want[1])))


def _reducible(strip: Image.Image) -> Image.Image:
    """A strip in a mode Image.reduce averages correctly (not palette indices, not 1-bit)."""
    if strip.mode.startswith("I;16"):
        return strip.convert("I")
    if strip.mode == "P":
        return strip.convert("RGBA" if "transparency" in strip.info else "RGB")
    if strip.mode == "1":
        return strip.convert("L")
    return strip.convert("RGBA")  # PA, La, LAB


def reduce_image(im: Image.Image, factor: int) -> Image.Image:
    """``im`` shrunk by ``factor`` (box average). Modes Image.reduce cannot average are
    converted a strip of rows at a time, so no full-size converted copy ever exists."""
    if factor <= 1:
        return im
    if im.mode not in _STRIP_CONVERT:
        return im.reduce(factor)
    w, h = im.size
    rows = max(factor, _STRIP_BYTES // max(1, w * 4) // factor * factor)
    strips = ((y, im.crop((0, y, w, min(h, y + rows)))) for y in range(0, h, rows))
    return _reduce_strips(strips, im.size, im.mode, factor)


def _reduce_strips(
    strips: Iterable[tuple[int, Image.Image]], size: tuple[int, int], mode: str, factor: int
) -> Image.Image:
    """Reduce each strip (its first row a multiple of ``factor``) and paste them together."""
    w, h = size
    out: Image.Image | None = None
    for y, strip in strips:
        part = (strip if strip.mode not in _STRIP_CONVERT else _reducible(strip)).reduce(factor)
        if out is None:
            out = Image.new(part.mode, (-(-w // factor), -(-h // factor)))
        out.paste(part, (0, y // factor))
    if out is None:
        raise ValueError("no image data")
    if mode.startswith("I;16"):  # back to 16 bits: to_rgb then keeps the full 0-65535 range
        out = Image.fromarray(np.asarray(out).clip(0, 65535).astype(np.uint16))
    return out


# ---- PNG, decoded a strip of rows at a time ----------------------------------------------
#
# Pillow decodes a PNG whole: 718 MB for a 13400x13400 photo that is 0.5 MB on disk. Here
# the compressed rows are inflated a strip at a time (zlib), each strip is handed to Pillow
# as a small PNG of its own to undo the row filters (in C), reduced at once, and dropped:
# memory is a few strips, whatever the photo's size. Row filters refer to the row above,
# so every strip is preceded by the previous strip's last row, unfiltered (filter 0). The
# small PNG declares 8-bit samples with the same bytes per pixel (the distance the filters
# look back), so Pillow hands the unfiltered bytes back exactly; they are then read in the
# photo's real layout (16-bit, packed bits, palette). Interlaced PNGs and 16-bit colour
# (6 or 8 bytes per pixel: no 8-bit PNG type has that stride) are decoded whole instead.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_STRIDE_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # bytes per pixel -> an 8-bit PNG colour type with that stride


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


@dataclass(frozen=True)
class _PngLayout:
    width: int
    height: int
    row_bytes: int  # per row, without the filter byte
    stride: int  # bytes per pixel as the filters count them (at least 1)
    rawmode: str
    file: BinaryIO  # the open file (see _open)


def _png_layout(im: ImageFile.ImageFile) -> _PngLayout | None:
    """How the rows of a PNG that can be streamed are laid out; None for one that cannot."""
    fh = getattr(im, "photocap_file", None)
    if im.format != "PNG" or fh is None or im.info.get("interlace") or not im.tile:
        return None
    fh.seek(0)
    head = fh.read(29)
    if head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    depth, colour = head[24], head[25]
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or (width, height) != im.size:
        return None
    stride = max(1, channels * depth // 8)
    if stride not in _STRIDE_TYPE:
        return None
    rawmode = im.tile[0][3]
    if not isinstance(rawmode, str):
        return None
    return _PngLayout(width, height, (width * channels * depth + 7) // 8, stride, rawmode, fh)


def _png_pixel_data(fh: BinaryIO) -> Iterator[bytes]:
    """The compressed image data: the IDAT chunks' contents, in order."""
    fh.seek(8)
    seen_data = False
    while True:
        head = fh.read(8)
        if len(head) < 8:
            raise EOFError("PNG ends before its image data does")
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if kind == b"IDAT":
            seen_data = True
            remaining = length
            while remaining:
                block = fh.read(min(remaining, 1 << 20))
                if not block:
                    raise EOFError("PNG ends inside its image data")
                remaining -= len(block)
                yield block
            fh.seek(4, os.SEEK_CUR)  # CRC (zlib's own checksum covers the data)
        elif seen_data or kind == b"IEND":
            return
        else:
            fh.seek(length + 4, os.SEEK_CUR)


def _png_strips(im: Image.Image, layout: _PngLayout, rows: int) -> Iterator[tuple[int, Image.Image]]:
    """(first row, strip image in the photo's own mode) for every ``rows`` rows."""
    fh = layout.file
    inflate = zlib.decompressobj()
    line = layout.row_bytes + 1
    stride_w = layout.row_bytes // layout.stride
    pending = bytearray()
    previous = bytes(layout.row_bytes)  # the row above the first: zeros (PNG spec)
    compressed = _png_pixel_data(fh)
    tail = b""  # compressed input not inflated yet (inflating is capped at what a strip needs)
    palette = im.palette if im.mode in ("P", "PA") else None
    for y in range(0, layout.height, rows):
        n = min(rows, layout.height - y)
        while len(pending) < n * line:
            if not tail:
                tail = next(compressed, b"")
                if not tail:
                    raise EOFError("image data is truncated")
            pending += inflate.decompress(tail, n * line - len(pending))
            tail = inflate.unconsumed_tail
        filtered = bytes(pending[: n * line])
        del pending[: n * line]
        if any(f > 4 for f in filtered[::line]):
            raise ValueError("unknown PNG row filter")
        header = (
            stride_w.to_bytes(4, "big") + (n + 1).to_bytes(4, "big") + bytes((8, _STRIDE_TYPE[layout.stride], 0, 0, 0))
        )
        store = zlib.compressobj(0)  # stored, not compressed: Pillow only needs a zlib stream
        data = b"".join((store.compress(b"\x00"), store.compress(previous), store.compress(filtered), store.flush()))
        mini = b"".join(
            (
                _PNG_SIGNATURE,
                _png_chunk(b"IHDR", header),
                len(data).to_bytes(4, "big"),
                b"IDAT",
                data,
                b"\0\0\0\0",
                _png_chunk(b"IEND", b""),
            )
        )  # Pillow does not check IDAT's CRC
        del data
        with Image.open(io.BytesIO(mini)) as unfiltered:
            raw = unfiltered.tobytes()
        previous = raw[(n) * layout.row_bytes : (n + 1) * layout.row_bytes]
        strip = Image.frombytes(im.mode, (layout.width, n), raw[layout.row_bytes :], "raw", layout.rawmode)
        if palette is not None:
            strip.putpalette(palette)
        if "transparency" in im.info:
            strip.info["transparency"] = im.info["transparency"]
        yield y, strip


def _stream_reduce_png(im: ImageFile.ImageFile, factor: int) -> Image.Image | None:
    """``im`` (a PNG, not yet decoded) reduced by ``factor``, decoded a strip at a time;
    None when its layout cannot be streamed."""
    layout = _png_layout(im) if factor > 1 else None
    return None if layout is None else _stream_png(im, layout, factor)


def _stream_png(im: Image.Image, layout: _PngLayout, factor: int) -> Image.Image:
    rows = max(factor, _STRIP_BYTES // max(1, layout.width * 4) // factor * factor)
    return _reduce_strips(_png_strips(im, layout, rows), im.size, im.mode, factor)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(im: Image.Image) -> int:
    exif = exif_without_decoding(im)
    value = exif.get(_TAG_ORIENTATION, 1) if exif else 1
    return value if isinstance(value, int) else 1


def load_rgb(
    path: str | Path, min_size: int | tuple[int, int] | None = None, budget: MemoryBudget | None = None
) -> Image.Image:
    """Decode ``path`` to an upright 8-bit RGB image.

    With ``min_size`` the photo comes back smaller, both sides still at least ``min_size``
    (as stored, before EXIF rotation: fine for the square sizes photocap asks for). A JPEG
    is decoded small by libjpeg itself (draft: 1/2, 1/4 or 1/8; 2.5x faster for a
    2560x1600 baseline JPEG); a PNG that would take more than :data:`STREAM_ABOVE` whole is
    decoded a strip of rows at a time and reduced as it goes; every other photo is decoded
    at full size and at once box-reduced in its own mode, before any conversion. Its pixels are paid for
    from ``budget`` (the process-wide :data:`DECODE_BUDGET` by default): a photo that needs
    more memory than the whole budget is refused with a reason; otherwise it waits until
    the other decoders have made room.
    """
    p = Path(path)
    budget = budget or DECODE_BUDGET
    im = _open(p)
    try:
        full_size = im.size
        if min_size is not None and im.format == "JPEG":
            want = (min_size, min_size) if isinstance(min_size, int) else min_size
            if im.info.get("progressive") and im.width // 8 >= want[0] and im.height // 8 >= want[1]:
                im = _open_dc_only(p, im)
            im.draft("RGB", want)
        factor = reduce_factor(im.size, min_size)
        cost = decode_cost(im, factor, full_size)
        layout = _png_layout(im) if factor > 1 and cost > STREAM_ABOVE else None
        if layout is not None:
            cost = decode_cost(im, factor, full_size, streamed=True)
        with budget.reserve(cost):
            if layout is not None:
                orientation = _orientation(im)
                small = _stream_png(im, layout, factor)
            else:
                im.load()
                orientation = _orientation(im)
                small = reduce_image(im, factor)
            if small is not im:
                _close(im)  # the full-size pixels go before the reservation ends
            method = _TRANSPOSE.get(orientation)
            if method is not None:
                small = small.transpose(method)
            return to_rgb(small)  # inside: unreduced, this conversion is a full-size copy
    except OverBudget as exc:
        raise ImageTooLarge(p, str(exc)) from exc
    except Exception as exc:
        raise _decode_error(p, exc, getattr(im, "photocap_file", None)) from exc
    finally:
        _close(im, keep_pixels=True)  # the pixels may be what is returned (already RGB, not reduced)


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


def _open_dc_only(path: Path, im: ImageFile.ImageFile) -> ImageFile.ImageFile:
    """``im`` reopened from its DC scans alone, or ``im`` itself when that is not possible."""
    try:
        slim = jpeg_dc_scans_only(path.read_bytes())
        if slim is None:
            return im
        fast = Image.open(io.BytesIO(slim))
    except (OSError, ValueError, SyntaxError):
        return im
    _close(im)
    return fast


def load_for_model(
    path: str | Path, size: int = 224, resize: str = "squash", budget: MemoryBudget | None = None
) -> Image.Image:
    """The photo as the encoder wants it: ``size`` x ``size`` RGB.

    ``squash`` stretches the whole photo to a square (what EfficientNet-Lite0 prefers);
    ``center_crop`` resizes the short side to ``size`` and crops the middle.
    """
    im = load_rgb(path, min_size=size, budget=budget)
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


class _WouldDecode(Exception):
    pass


def _refuse_decode(*_args, **_kwargs):
    raise _WouldDecode


_PNG_MAX_CHUNKS = 100_000  # a hostile file of tiny chunks costs a bounded walk


def _png_exif_after_pixels(fh: BinaryIO) -> bytes | None:
    """A PNG's eXIf chunk when it comes after the image data (Pillow only finds it by
    decoding every pixel): walk the chunk headers, seeking over the data."""
    fh.seek(8)
    for _ in range(_PNG_MAX_CHUNKS):
        head = fh.read(8)
        if len(head) < 8:
            return None
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if kind == b"eXIf":
            data = fh.read(length)
            return data if len(data) == length else None
        if kind == b"IEND" or length > 2**31:
            return None
        fh.seek(length + 4, os.SEEK_CUR)  # data and CRC
    return None


def exif_without_decoding(im: Image.Image) -> Image.Exif | None:
    """The photo's EXIF, never decoding pixels: while it is read the image's ``load``
    refuses to run, so no format's plugin can decode behind our back (Pillow's PNG plugin
    decodes the whole image to look for EXIF stored after the pixels: 719 MB for a 524 KB
    PNG; we walk the chunks instead). None when the EXIF is broken or absent."""
    im.load = _refuse_decode  # type: ignore[method-assign]  # on purpose, for this one read (restored below)
    try:
        fh = getattr(im, "photocap_file", None)
        if im.format == "PNG" and "exif" not in im.info and fh is not None:
            pos = fh.tell()
            found = _png_exif_after_pixels(fh)
            fh.seek(pos)
            if found:
                im.info["exif"] = found
        return im.getexif()
    except Exception:
        return None
    finally:
        del im.load


def read_meta(path: str | Path) -> PhotoMeta:
    """Size (as displayed, after EXIF rotation), date taken and camera, without decoding pixels."""
    im = _open(Path(path))
    try:
        w, h = im.size
        taken = camera = None
        exif = exif_without_decoding(im)
        if exif:
            if exif.get(_TAG_ORIENTATION) in (5, 6, 7, 8):
                w, h = h, w
            try:
                ifd = exif.get_ifd(_EXIF_IFD) if _EXIF_IFD in exif else {}
            except Exception:
                ifd = {}
            taken = _parse_exif_date(ifd.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME))
            camera = _camera_name(exif.get(_TAG_MAKE), exif.get(_TAG_MODEL))
        return PhotoMeta(w, h, im.format, taken, camera)
    finally:
        _close(im)


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
    "DECODE_BUDGET",
    "HEIF_AVAILABLE",
    "MAX_PIXELS",
    "PHOTO_EXTENSIONS",
    "CorruptImage",
    "ImageError",
    "ImageTooLarge",
    "MemoryBudget",
    "PhotoMeta",
    "UnreadableFile",
    "UnsupportedFormat",
    "decode_cost",
    "load_for_model",
    "load_rgb",
    "looks_like_photo",
    "make_thumbnail",
    "read_meta",
    "reason_for",
    "reduce_image",
    "to_rgb",
]
