import datetime as dt
import os

import numpy as np
import pytest
from PIL import Image

from photocap import imaging
from photocap.imaging import (
    CorruptImage,
    ImageTooLarge,
    UnreadableFile,
    UnsupportedFormat,
    load_for_model,
    load_rgb,
    looks_like_photo,
    make_thumbnail,
    read_meta,
)

from .conftest import photo

EXIF_IFD, ORIENTATION, DATETIME_ORIGINAL, MAKE, MODEL = 0x8769, 0x0112, 0x9003, 0x010F, 0x0110


@pytest.mark.parametrize(
    "fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif"), ("BMP", "bmp"), ("GIF", "gif")]
)
def test_common_formats_open_as_rgb(tmp_path, fmt, ext):
    path = tmp_path / f"p.{ext}"
    photo(1, (120, 80)).save(path, fmt)
    im = load_rgb(path)
    assert im.mode == "RGB" and im.size == (120, 80)
    assert load_for_model(path, 64).size == (64, 64)


def test_heic(tmp_path):
    pytest.importorskip("pillow_heif")
    path = tmp_path / "iphone.heic"
    try:
        photo(2, (128, 96)).save(path, "HEIF")
    except (KeyError, OSError) as exc:  # a pillow-heif build without an encoder
        pytest.skip(f"cannot write HEIC here: {exc}")
    assert looks_like_photo(path)
    im = load_rgb(path)
    assert im.mode == "RGB" and im.size == (128, 96)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    r, g, b = load_rgb(path).getpixel((5, 5))
    assert r > 200 and g < 50 and b < 50


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (200, 100), "white")
    im.paste((255, 0, 0), (0, 0, 20, 100))  # red stripe on the left
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    up = load_rgb(path)
    assert up.size == (100, 200)
    assert up.getpixel((50, 5))[1] < 80  # the red stripe is now at the top
    meta = read_meta(path)
    assert (meta.width, meta.height) == (100, 200)


@pytest.mark.parametrize("mode", ["P", "RGBA", "LA", "CMYK", "L", "1", "I;16", "I", "F"])
def test_odd_modes_become_rgb(tmp_path, mode):
    base = photo(3, (64, 48))
    if mode in ("I;16", "I", "F"):
        arr = np.linspace(0, 60000 if mode != "F" else 1.0, 64 * 48).reshape(48, 64)
        im = Image.fromarray(arr.astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
        im = im.convert(mode) if im.mode != mode else im
    elif mode == "P":
        im = base.convert("P", palette=Image.Palette.ADAPTIVE)
        im.info["transparency"] = 0
    else:
        im = base.convert(mode)
    path = tmp_path / f"img_{mode.replace(';', '_')}.{'tif' if mode in ('CMYK', 'I', 'F') else 'png'}"
    im.save(path)
    out = load_rgb(path)
    assert out.mode == "RGB" and out.size == (64, 48)
    if mode == "I;16":
        assert out.getpixel((63, 47))[0] > 200 and out.getpixel((0, 0))[0] < 10  # full range kept


def test_transparency_goes_over_white(tmp_path):
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    path = tmp_path / "clear.png"
    im.save(path)
    assert load_rgb(path).getpixel((3, 3)) == (255, 255, 255)


def test_draft_mode_decodes_big_jpegs_small(tmp_path):
    path = tmp_path / "big.jpg"
    photo(4, (2560, 1600)).save(path, quality=90)
    full = load_rgb(path)
    small = load_rgb(path, min_size=224)
    assert full.size == (2560, 1600)
    assert small.size == (320, 200) or (min(small.size) >= 224 and small.size[0] < 2560)
    assert min(small.size) >= 200  # 1/8 scale keeps both sides >= the request where possible
    assert make_thumbnail(path, 256).size == (256, 160)


def test_missing_folder_and_garbage_files(tmp_path):
    with pytest.raises(UnreadableFile, match="not found"):
        load_rgb(tmp_path / "missing.jpg")
    with pytest.raises(UnreadableFile):
        load_rgb(tmp_path)
    junk = tmp_path / "notes.jpg"
    junk.write_text("this is not a photo")
    with pytest.raises(UnsupportedFormat, match=r"not an image, or a format photocap can.t read"):
        load_rgb(junk)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedFormat, match=r"the file is empty \(0 bytes\)"):
        load_rgb(empty)


def test_truncated_jpeg_is_corrupt(tmp_path):
    path = tmp_path / "cut.jpg"
    photo(5, (800, 600)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptImage, match="truncated") as err:
        load_rgb(path)
    assert err.value.path == str(path)


def test_corrupt_png_data(tmp_path):
    path = tmp_path / "bad.png"
    photo(6, (100, 100)).save(path)
    data = bytearray(path.read_bytes())
    data[60:120] = b"\x00" * 60  # smash the image data, keep the header
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptImage):
        load_rgb(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)  # 400 megapixels, a few kB on disk
    assert path.stat().st_size < 200_000
    with pytest.raises(ImageTooLarge, match="pixels"):
        load_rgb(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_permission_denied(tmp_path):
    path = tmp_path / "secret.jpg"
    photo(7).save(path)
    path.chmod(0)
    with pytest.raises(UnreadableFile, match="permission"):
        load_rgb(path)


def test_content_type_detection(tmp_path):
    no_ext = tmp_path / "IMG_0001"
    photo(8).save(no_ext, "JPEG")
    webp = tmp_path / "download"
    photo(8).save(webp, "WEBP")
    text = tmp_path / "readme"
    text.write_text("hello")
    assert looks_like_photo(no_ext) and looks_like_photo(webp) and not looks_like_photo(text)
    assert looks_like_photo(tmp_path / "x.HEIC")


def test_read_meta_date_and_camera(tmp_path):
    exif = Image.Exif()
    exif[MAKE], exif[MODEL] = "Canon", "Canon EOS 5D"
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "2021:07:04 18:30:00"
    path = tmp_path / "meta.jpg"
    photo(9, (300, 200)).save(path, exif=exif)
    meta = read_meta(path)
    assert meta.width == 300 and meta.height == 200 and meta.format == "JPEG"
    assert meta.taken_at == dt.datetime(2021, 7, 4, 18, 30)
    assert meta.camera == "Canon EOS 5D"
    assert imaging._parse_exif_date("0000:00:00 00:00:00") is None


def _progressive(tmp_path, size=(2400, 1800), exif=None):
    path = tmp_path / "prog.jpg"
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    photo(11, size).save(path, "JPEG", progressive=True, quality=92, **kwargs)
    return path


def test_progressive_jpeg_at_one_eighth_reads_only_dc_scans(tmp_path):
    from photocap.imaging import jpeg_dc_scans_only

    path = _progressive(tmp_path)
    data = path.read_bytes()
    slim = jpeg_dc_scans_only(data)
    assert slim is not None and len(slim) < len(data) / 2
    fast = np.asarray(load_rgb(path, min_size=224), dtype=int)  # 2400/8 = 300 >= 224: DC path
    reference = Image.open(path)
    reference.draft("RGB", (224, 224))
    ref = np.asarray(reference.convert("RGB"), dtype=int)
    assert fast.shape == ref.shape == (225, 300, 3)
    assert np.abs(fast - ref).mean() < 2.0  # the same picture, to within libjpeg's smoothing


def test_dc_path_does_not_apply_to_baseline_truncated_or_small_scales(tmp_path):
    from photocap.imaging import jpeg_dc_scans_only

    base = tmp_path / "base.jpg"
    photo(12, (2400, 1800)).save(base, "JPEG", quality=90)
    assert jpeg_dc_scans_only(base.read_bytes()) is None
    prog = _progressive(tmp_path)
    data = prog.read_bytes()
    assert jpeg_dc_scans_only(data[: int(len(data) * 0.8)]) is None
    prog.write_bytes(data[: int(len(data) * 0.8)])
    with pytest.raises(CorruptImage, match="truncated"):  # still reported, not silently half-read
        load_rgb(prog, min_size=224)


def test_dc_path_keeps_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = _progressive(tmp_path, exif=exif)
    assert load_rgb(path, min_size=224).size == (225, 300)  # 300x225 at 1/8, turned upright
