"""A folder of hostile input: every kind of file a 20-year photo collection can hold.

``build(folder)`` writes the corpus and returns a :class:`Corpus`: which names are good
photos (they must all be described) and which are bad (each must be recorded with a
reason, never stop the rest, never hang). Everything is made here with Pillow (and
pillow-heif) from nothing: no downloads.
"""

from __future__ import annotations

import io
import os
import random
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageDraw

pillow_heif.register_heif_opener()

NON_UTF8 = os.fsdecode(b"caf\xe9 au lait.jpg")  # 'caf\udce9 au lait.jpg'
SPARSE_SIZE = 3 * 1024**3


def photo(seed: int, size: tuple[int, int] = (96, 72), mode: str = "RGB") -> Image.Image:
    """A small photo-like image: a background and a few coloured shapes."""
    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rng.randrange(max(1, size[0] - 4)), rng.randrange(max(1, size[1] - 4))
        draw.ellipse(
            (x0, y0, x0 + rng.randrange(4, 40), y0 + rng.randrange(4, 40)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    return im.convert(mode) if mode != "RGB" else im


def encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A valid PNG whose header claims ``width`` x ``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey: tiny on disk
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(min(height, 64))) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@dataclass
class Corpus:
    root: Path
    good: dict[str, str] = field(default_factory=dict)  # path -> what it is (must be described)
    bad: dict[str, str] = field(default_factory=dict)  # path -> what it is (must be a problem with a reason)
    needs_unprivileged: set[str] = field(default_factory=set)  # bad only for a process without root's override
    ignored: set[str] = field(default_factory=set)  # hidden: neither a photo nor a problem

    @property
    def kinds(self) -> int:
        return len(self.good) + len(self.bad)


def build(root: Path, sparse: bool = True) -> Corpus:
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root)

    def good(name: str, data: bytes, what: str) -> None:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        c.good[str(p)] = what

    def bad(name: str, data: bytes | None, what: str) -> Path:
        p = root / name
        if data is not None:
            p.write_bytes(data)
        c.bad[str(p)] = what
        return p

    jpeg = encoded(photo(1, (320, 240)), "JPEG", quality=90)
    png = encoded(photo(2, (200, 150)), "PNG")
    webp = encoded(photo(3, (200, 150)), "WEBP", quality=80)
    heic = encoded(photo(4, (128, 96)), "HEIF", quality=60)

    # ---- good photos, some of them odd -------------------------------------------------
    good("plain.jpg", jpeg, "an ordinary JPEG")
    good("plain.heic", heic, "an ordinary HEIC")
    good("one_pixel.png", encoded(photo(5, (1, 1)), "PNG"), "1x1")
    good("tall_4x20000.png", encoded(photo(6, (4, 20000)), "PNG"), "4x20000")
    good(
        "sixteen_bit.png",
        encoded(Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20), "PNG"),
        "16-bit grey PNG",
    )
    good(
        "float.tif",
        encoded(Image.fromarray(np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)), "TIFF"),
        "32-bit float TIFF",
    )
    good("cmyk.jpg", encoded(photo(7).convert("CMYK"), "JPEG"), "CMYK JPEG")
    pal = photo(8).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    good("palette_alpha.png", encoded(pal, "PNG", transparency=0), "palette with transparency")
    frames = [photo(9 + i) for i in range(3)]
    good(
        "animated.gif",
        encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0),
        "animated GIF",
    )
    good("multipage.tif", encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:]), "multi-page TIFF")
    exif = Image.Exif()
    exif[0x0112] = 99  # Orientation: no such value
    good("orientation_99.jpg", encoded(photo(12), "JPEG", exif=exif.tobytes()), "absurd EXIF orientation")
    good("name with  spaces .jpg", encoded(photo(13), "JPEG"), "spaces in the name")
    good("🐈 cat ☕.jpg", encoded(photo(14), "JPEG"), "emoji in the name")
    good("line\nbreak.jpg", encoded(photo(15), "JPEG"), "a newline in the name")
    good(NON_UTF8, encoded(photo(16), "JPEG"), "a name that is not UTF-8")
    good("IMG_0001", encoded(photo(17), "JPEG"), "no extension (found by content)")
    good("really_a_jpeg.png", encoded(photo(18), "JPEG"), "a JPEG named .png")
    good("UPPER.JPG", encoded(photo(19), "JPEG"), "upper-case extension")
    good("folder.jpg/inside.jpg", encoded(photo(20), "JPEG"), "a photo in a folder named x.jpg")
    good("plain.webp", webp, "an ordinary WebP")

    # ---- bad input -----------------------------------------------------------------------
    bad("empty.jpg", b"", "empty file")
    bad("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated JPEG")
    bad("truncated.png", png[: len(png) // 2], "truncated PNG")
    bad("truncated.webp", webp[: len(webp) // 2], "truncated WebP")
    bad("truncated.heic", heic[: len(heic) // 2], "truncated HEIC")
    bad("text.jpg", b"Dear diary,\nthis is not a photo.\n" * 20, "text with an image extension")
    bad("garbage.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(4000), "JPEG header, random body")
    bad("bomb.png", png_with_size(60000, 60000), "decompression bomb (3.6 gigapixels)")
    bad("zero_size.png", png_with_size(0, 0), "PNG claiming 0x0")
    bad("bad_crc.png", png[:30] + bytes([png[30] ^ 0xFF]) + png[31:], "PNG with a damaged header checksum")
    os.mkfifo(bad("pipe.jpg", None, "a named pipe (FIFO)"))
    os.symlink("loop.jpg", bad("loop.jpg", None, "a symbolic link to itself"))
    os.symlink(root / "nowhere.jpg", bad("dangling.jpg", None, "a dangling link"))
    os.symlink("/etc/passwd", bad("passwd.jpg", None, "a link to a system file"))
    if sparse:
        with open(bad("sparse.jpg", None, "a 3 GB sparse file"), "wb") as fh:
            fh.truncate(SPARSE_SIZE)
    locked = bad("locked.jpg", jpeg, "a photo nobody may read")
    locked.chmod(0)
    c.needs_unprivileged.add(str(locked))
    secret = root / "private"
    (secret).mkdir()
    (secret / "hidden_from_us.jpg").write_bytes(jpeg)
    secret.chmod(0)
    c.bad[str(secret)] = "a folder nobody may list"
    c.needs_unprivileged.add(str(secret))
    (root / ".hidden.jpg").write_bytes(b"not even looked at")
    c.ignored.add(str(root / ".hidden.jpg"))
    return c


def unlock(root: Path) -> None:
    """Give back permissions so pytest can delete the corpus."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p) and stat.S_IMODE(os.lstat(p).st_mode) == 0:
                os.chmod(p, 0o700)
    for p in Path(root).rglob("*"):
        if not p.is_symlink() and p.is_dir():
            p.chmod(0o700)
