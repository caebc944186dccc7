"""Decoding memory is bounded by design, metadata never decodes pixels, and every reason a
photo cannot be read is in photocap's own words."""

from __future__ import annotations

import io
import os
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from photocap import imaging
from photocap.imaging import ImageTooLarge, MemoryBudget, OverBudget, load_rgb, read_meta

from .conftest import photo

EXIF_IFD, ORIENTATION, DATETIME_ORIGINAL, MAKE, MODEL = 0x8769, 0x0112, 0x9003, 0x010F, 0x0110


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = "Nikon", "D750"
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "2019:05:06 07:08:09"
    return exif


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_with_exif_after_pixels(path, size=(300, 200), orientation=None):
    """A PNG whose eXIf chunk follows the image data (allowed by the PNG spec; Pillow then
    finds it only by decoding every pixel)."""
    buf = io.BytesIO()
    photo(1, size).save(buf, "PNG")
    data = buf.getvalue()
    exif = _exif()
    if orientation:
        exif[ORIENTATION] = orientation
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + _chunk(b"eXIf", exif.tobytes()) + data[iend:])
    return path


def _png_header(path, width: int, height: int, depth: int, colour: int):
    """The first chunks of a PNG of any size, without its pixels: enough to open it."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")))
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decoding fails the test."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{self.format} pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif")])
def test_read_meta_finds_exif_without_decoding_pixels(tmp_path, no_decoding, fmt, ext):
    path = tmp_path / f"meta.{ext}"
    photo(2, (300, 200)).save(path, fmt, exif=_exif())
    meta = read_meta(path)
    assert (meta.width, meta.height, meta.format) == (300, 200, fmt)
    assert meta.camera == "Nikon D750"
    if fmt != "TIFF":  # Pillow writes no EXIF sub-IFD into a TIFF
        assert meta.taken_at is not None and meta.taken_at.year == 2019


def test_read_meta_finds_png_exif_stored_after_the_pixels_without_decoding(tmp_path, no_decoding):
    path = _png_with_exif_after_pixels(tmp_path / "late.png", orientation=6)
    meta = read_meta(path)
    assert meta.camera == "Nikon D750" and meta.taken_at.year == 2019
    assert (meta.width, meta.height) == (200, 300)  # the late EXIF's orientation applies


@pytest.mark.parametrize("fmt,ext", [("GIF", "gif"), ("BMP", "bmp")])
def test_read_meta_of_other_formats_decodes_nothing(tmp_path, no_decoding, fmt, ext):
    path = tmp_path / f"p.{ext}"
    photo(3, (120, 90)).save(path, fmt)
    assert (read_meta(path).width, read_meta(path).height) == (120, 90)


def test_read_meta_of_heic_decodes_nothing(tmp_path, no_decoding):
    pytest.importorskip("pillow_heif")
    path = tmp_path / "p.heic"
    try:
        photo(3, (128, 96)).save(path, "HEIF")
    except (KeyError, OSError) as exc:
        pytest.skip(f"cannot write HEIC here: {exc}")
    assert read_meta(path).width == 128


def test_late_png_exif_still_turns_the_decoded_photo(tmp_path):
    path = _png_with_exif_after_pixels(tmp_path / "late.png", orientation=6)
    assert load_rgb(path).size == (200, 300)
    assert load_rgb(path, min_size=64).size == (67, 100)  # reduced by 3, then turned


# ---- reduced decoding ---------------------------------------------------------------------


def _similar(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=float) - np.asarray(b.resize(a.size), dtype=float)).mean())


def test_png_comes_back_reduced_and_looks_the_same(tmp_path):
    path = tmp_path / "big.png"
    photo(4, (1000, 800)).save(path)
    small = load_rgb(path, min_size=224)
    assert small.size == (334, 267)  # factor 3: both sides stay >= 224
    assert _similar(small, load_rgb(path)) < 2.0


@pytest.mark.parametrize("mode", ["P", "PA", "1", "I;16", "LA", "I", "F"])
def test_reduction_in_every_mode_matches_the_full_size_picture(tmp_path, mode):
    base = photo(5, (900, 600))
    if mode == "I;16":
        im = Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257)
    elif mode in ("I", "F"):
        im = base.convert("L").convert(mode)
    elif mode == "P":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE)
        im.info["transparency"] = 3
    elif mode == "PA":
        im = base.convert("RGBA").convert("PA")
    else:
        im = base.convert(mode)
    path = tmp_path / f"m.{'tif' if mode in ('I', 'F', 'PA') else 'png'}"
    im.save(path)
    with Image.open(path) as check:
        assert check.mode == mode or (mode == "PA" and check.mode in ("PA", "RGBA"))
    full, small = load_rgb(path), load_rgb(path, min_size=150)
    assert small.mode == "RGB" and small.size == (225, 150)
    assert _similar(small, full) < (20.0 if mode == "1" else 4.0)  # 1-bit: grey averages vs dither


def test_sixteen_bit_keeps_its_full_range_when_reduced(tmp_path):
    arr = np.tile(np.linspace(0, 65535, 800, dtype=np.uint16), (600, 1))
    path = tmp_path / "grey16.png"
    Image.fromarray(arr).save(path)
    small = np.asarray(load_rgb(path, min_size=100))
    assert small[:, -1, 0].min() > 240 and small[:, 0, 0].max() < 10


# ---- the budget ---------------------------------------------------------------------------


def test_decode_cost_counts_bit_depth_decoder_buffers_and_progressive_jpegs(tmp_path):
    size = (1200, 1000)
    paths = {}
    for name, im, kwargs in [
        ("rgb.png", photo(6, size), {}),
        ("grey.png", photo(6, size).convert("L"), {}),
        ("g16.png", Image.fromarray(np.full(size[::-1], 999, np.uint16)), {}),
        ("w.webp", photo(6, size), {}),
        ("b.jpg", photo(6, size), {}),
        ("p.jpg", photo(6, size), {"progressive": True}),
    ]:
        paths[name] = tmp_path / name
        im.save(paths[name], **kwargs)
    cost = {}
    for name, path in paths.items():
        with Image.open(path) as im:
            cost[name] = imaging.decode_cost(im, factor=4)
    px = size[0] * size[1]
    assert cost["rgb.png"] >= 4 * px and cost["grey.png"] >= px and cost["g16.png"] >= 2 * px
    assert cost["grey.png"] < cost["rgb.png"] < cost["w.webp"]
    big = {}
    for name, depth, colour in [("grey8", 8, 0), ("grey16", 16, 0), ("rgb8", 8, 2), ("rgb16", 16, 2)]:
        with Image.open(_png_header(tmp_path / name, 13_400, 13_400, depth, colour)) as im:
            big[name] = imaging.decode_cost(im, factor=59)
    bpx = 13_400**2
    assert bpx <= big["grey8"] < 1.1 * bpx and 2 * bpx <= big["grey16"] < 2.1 * bpx
    assert 4 * bpx <= big["rgb8"] == big["rgb16"] < 4.1 * bpx  # Pillow holds 16-bit RGB as 8-bit RGBX
    assert cost["p.jpg"] - cost["b.jpg"] >= 3 * px  # libjpeg's coefficient buffer (4:2:0)
    with Image.open(paths["grey.png"]) as im:
        assert imaging.decode_cost(im, factor=1) >= 9 * px > cost["grey.png"]  # converted to RGB at full size


def test_a_photo_bigger_than_the_whole_budget_is_refused_with_its_reason(tmp_path):
    png, jpg = tmp_path / "big.png", tmp_path / "big.jpg"
    photo(7, (1600, 1200)).save(png)
    photo(7, (1600, 1200)).save(jpg)
    budget = MemoryBudget(2 * 2**20)
    with pytest.raises(ImageTooLarge) as err:
        load_rgb(png, min_size=224, budget=budget)
    assert err.value.reason.startswith("needs ") and "decoding budget of 2 MB" in err.value.reason
    assert load_rgb(jpg, min_size=224, budget=budget).size == (400, 300)  # libjpeg decodes it at 1/4
    assert budget.in_use == 0 and 0 < budget.peak <= budget.limit


def test_budget_lets_requests_in_order_and_never_over_the_limit():
    budget = MemoryBudget(100)
    first_in, release_first = threading.Event(), threading.Event()
    order: list[str] = []

    def hold(
        name: str, nbytes: int, entered: threading.Event | None = None, release: threading.Event | None = None
    ) -> None:
        with budget.reserve(nbytes):
            order.append(name)
            assert budget.in_use <= budget.limit
            if entered:
                entered.set()
            if release:
                release.wait(10)

    a = threading.Thread(target=hold, args=("a", 70, first_in, release_first))
    a.start()
    assert first_in.wait(10)
    b = threading.Thread(target=hold, args=("b", 60))  # does not fit next to a: waits
    b.start()
    _until(lambda: budget.waiting == 1)
    c = threading.Thread(target=hold, args=("c", 10))  # would fit, but b asked first
    c.start()
    _until(lambda: budget.waiting == 2)
    assert order == ["a"] and budget.in_use == 70
    release_first.set()
    for t in (a, b, c):
        t.join(10)
    assert order == ["a", "b", "c"] and budget.in_use == 0 and budget.peak <= 100
    with pytest.raises(OverBudget), budget.reserve(101):
        pass


def _until(condition, timeout: float = 10.0) -> None:
    """Wait for another thread to reach a state we can observe (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_the_engine_decoders_share_one_budget(tmp_path, lite0):
    from photocap.engine import CaptionEngine
    from photocap.model import Captioner

    paths = []
    for i in range(4):
        paths.append(tmp_path / f"p{i}.png")
        photo(10 + i, (1500, 1200)).save(paths[-1])
    alone = MemoryBudget(2**40)
    load_rgb(paths[0], min_size=224, budget=alone)
    one = alone.peak  # what one photo reserves
    budget = MemoryBudget(int(one * 1.5))  # room for one photo at a time, not two
    engine = CaptionEngine(Captioner(lite0, device="cpu"), batch_size=4, decode_workers=4, memory_budget=budget)
    items = list(engine.caption_paths(paths))
    assert [i.ok for i in items] == [True] * 4
    assert one <= budget.peak <= budget.limit  # four decoders, never more than one photo's pixels at once
    tight = CaptionEngine(Captioner(lite0, device="cpu"), decode_workers=4, memory_budget=MemoryBudget(one // 2))
    refused = list(tight.caption_paths(paths[:2]))
    assert [i.ok for i in refused] == [False, False]
    assert all("decoding budget" in i.error.reason for i in refused)


# ---- reasons ------------------------------------------------------------------------------

ALLOWED_REASONS = {
    "file not found",
    "permission denied",
    "is a folder, not a file",
    "not a regular file (a device, pipe or socket)",
    "a link that points to itself (link loop)",
    "not an image, or a format photocap can't read",
    "the file is empty (0 bytes)",
    "the file is cut short (truncated)",
    "the image data is damaged",
}


def _broken_files(tmp_path) -> dict[str, str | None]:
    """name -> the reason it must get (None: any reason of the set)."""
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    expect: dict[str, str | None] = {}
    for fmt, ext in [
        ("JPEG", "jpg"),
        ("PNG", "png"),
        ("WEBP", "webp"),
        ("GIF", "gif"),
        ("TIFF", "tif"),
        ("BMP", "bmp"),
    ]:
        buf = io.BytesIO()
        im.save(buf, fmt)
        data = buf.getvalue()
        for frac in (0.3, 0.9):
            (tmp_path / f"cut{int(frac * 100)}.{ext}").write_bytes(data[: int(len(data) * frac)])
            expect[f"cut{int(frac * 100)}.{ext}"] = "the file is cut short (truncated)"
        smashed = bytearray(data)
        smashed[len(data) // 2 : len(data) // 2 + 300] = rng.integers(0, 255, 300, dtype=np.uint8).tobytes()
        (tmp_path / f"smashed.{ext}").write_bytes(bytes(smashed))
        expect[f"smashed.{ext}"] = None
        header = bytearray(data)
        header[16:40] = b"\xff" * 24
        (tmp_path / f"header.{ext}").write_bytes(bytes(header))
        expect[f"header.{ext}"] = None
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a photo\n")
    (tmp_path / "signature.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    expect.update(
        {
            "empty.png": "the file is empty (0 bytes)",
            "notes.jpg": "not an image, or a format photocap can't read",
            "signature.png": None,
        }
    )
    (tmp_path / "folder.jpg").mkdir()
    os.mkfifo(tmp_path / "pipe.jpg")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    expect.update(
        {
            "folder.jpg": "is a folder, not a file",
            "pipe.jpg": "not a regular file (a device, pipe or socket)",
            "dangling.jpg": "file not found",
            "loop.jpg": "a link that points to itself (link loop)",
        }
    )
    return expect


def test_every_reason_is_photocaps_own_words(tmp_path):
    expect = _broken_files(tmp_path)
    seen = set()
    for name, want in expect.items():
        for read in (lambda p: load_rgb(p, min_size=64), read_meta):
            try:
                read(tmp_path / name)
            except imaging.ImageError as exc:
                assert exc.reason in ALLOWED_REASONS, f"{name}: {exc.reason!r}"
                assert "\n" not in exc.reason
                if want is not None and read is not read_meta:
                    assert exc.reason == want, name
                seen.add(exc.reason)
            else:
                assert read is read_meta or want is None, f"{name} was read"
    assert {
        "the file is cut short (truncated)",
        "the image data is damaged",
        "not an image, or a format photocap can't read",
    } <= seen


def test_size_limits_say_how_big(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb)
    with pytest.raises(ImageTooLarge) as err:
        read_meta(bomb)
    assert err.value.reason == "image too large: 400 megapixels, more than 180 megapixels"
    wide = tmp_path / "wide.png"
    Image.new("1", (18_000, 11_000)).save(wide)  # 198 MP: over photocap's limit, under Pillow's
    with pytest.raises(ImageTooLarge) as err:
        load_rgb(wide, min_size=224)
    assert err.value.reason == "image too large: 18000×11000, more than 180 megapixels"


def test_reason_for_maps_stray_library_exceptions():
    assert imaging.reason_for(OSError("Truncated File Read")) == "the file is cut short (truncated)"
    assert imaging.reason_for(OSError("could not create decoder object")) == "the image data is damaged"
    assert imaging.reason_for(SyntaxError("broken PNG file\n")) == "the image data is damaged"
    assert imaging.reason_for(MemoryError()) == "not enough memory to decode it"
    assert imaging.reason_for(OSError(5, "Input/output error")) == "the disk could not read it (input/output error)"


@pytest.mark.parametrize(
    "mode,bits",
    [
        ("1", None),
        ("P", 2),
        ("P", 4),
        ("P", None),
        ("L", None),
        ("LA", None),
        ("RGB", None),
        ("RGBA", None),
        ("I;16", None),
    ],
)
def test_png_decoded_in_strips_is_exactly_the_whole_decode_reduced(tmp_path, monkeypatch, mode, bits):
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, (203, 301, 4), dtype=np.uint8), "RGBA")  # every row filter
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (203, 301), dtype=np.uint16))
    elif mode == "P":
        im = noise.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=2 ** (bits or 8))
    else:
        im = noise.convert(mode)
    path = tmp_path / "strips.png"
    im.save(path, **({"bits": bits} if bits else {}))
    monkeypatch.setattr(imaging, "_STRIP_BYTES", 301 * 4 * 9)  # strips of 9 rows: many strips
    with Image.open(path) as whole:
        expected = imaging.reduce_image(whole.copy(), 3)
    opened = imaging._open(path)
    try:
        assert imaging._png_layout(opened) is not None
        streamed = imaging._stream_reduce_png(opened, 3)
    finally:
        imaging._close(opened)
    assert streamed.mode == expected.mode and streamed.size == expected.size == (101, 68)
    assert np.array_equal(np.asarray(streamed), np.asarray(expected))


def test_big_pngs_are_streamed_and_a_cut_stream_says_truncated(tmp_path, monkeypatch):
    monkeypatch.setattr(imaging, "STREAM_ABOVE", 0)  # stream every PNG here
    monkeypatch.setattr(imaging, "_STRIP_BYTES", 400 * 4 * 16)
    path = tmp_path / "p.png"
    photo(20, (400, 300)).save(path)
    budget = MemoryBudget(2**30)
    small = load_rgb(path, min_size=100, budget=budget)
    assert small.size == (134, 100)
    assert budget.peak < 400 * 300 * 4  # less than the whole photo decoded
    assert _similar(small, load_rgb(path)) < 2.0
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(imaging.CorruptImage) as err:
        load_rgb(path, min_size=100)
    assert err.value.reason == "the file is cut short (truncated)"
