"""Fixtures for the app's tests: real library files, small real photos written with Pillow,
the real tags-only caption engine (bundled EfficientNet-Lite0, offline), and windows and
services whose threads are always quit and waited for at teardown."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QSettings

from photocap.ui.app import create_app


def make_photo(path: Path, seed: int = 0, size: tuple[int, int] = (96, 72)) -> Path:
    """A small real photo-like image (JPEG or PNG by suffix): a gradient and a few shapes."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rng.randrange(size[0] - 10), rng.randrange(size[1] - 10)
        box = (x0, y0, x0 + rng.randrange(8, 40), y0 + rng.randrange(8, 40))
        draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    im.save(path, format="PNG" if path.suffix.lower() == ".png" else "JPEG", quality=88)
    return path


def make_photos(folder: Path, n: int, start: int = 0) -> list[Path]:
    return [
        make_photo(folder / f"photo_{i:03d}.{'png' if i % 5 == 4 else 'jpg'}", seed=i) for i in range(start, start + n)
    ]


def make_corrupt(path: Path) -> Path:
    """A file that says JPEG in its first bytes and then stops: unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00garbage" * 8)
    return path


def make_truncated(path: Path, seed: int = 99) -> Path:
    """A JPEG whose header is fine (the scanner accepts it) but whose data stops halfway."""
    make_photo(path, seed=seed, size=(320, 240))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory):
    """QSettings go to a temporary INI file, never the user's real settings."""
    from PySide6.QtCore import QCoreApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("qsettings")))
    QCoreApplication.setOrganizationName("photocap-tests")
    yield


@pytest.fixture
def app(qapp):
    create_app()
    from photocap.ui import style

    style.apply(qapp, "light")
    return qapp


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    make_photos(folder, 6)
    return folder


@pytest.fixture
def library_file(tmp_path) -> Path:
    return tmp_path / "library.sqlite"


@pytest.fixture
def make_window(app, qtbot, library_file):
    """A real main window on a real library file; shut down (threads waited for) at teardown."""
    made = []

    def make(auto_caption: bool = True, path: Path | None = None):
        from photocap.ui.main_window import MainWindow
        from photocap.ui.settings import AppSettings

        window = MainWindow(
            AppSettings(), library_path=str(path or library_file), auto_caption=auto_caption, watch_debounce=0.2
        )
        qtbot.addWidget(window)
        made.append(window)
        with qtbot.waitSignal(window.ready, timeout=20_000):
            window.show()
            window.start()
        return window

    yield make
    for window in made:
        window.close()
        assert_stopped(window)


def assert_stopped(window) -> None:
    for lane in (
        window.captions.lane,
        window.meaning.lane,
        window.thumb_lane,
        window.library.reads,
        window.library.files,
        window.teach_service.lane,
        window.teach_service.side,
    ):
        assert lane.stopped and lane.thread_finished, f"lane {lane.name} still running"


@pytest.fixture(scope="session")
def attention_model_file(tmp_path_factory) -> Path:
    """A tiny attention captioner (random weights, real Lite0 encoder) saved as a model file."""
    import torch

    from photocap.model import DecoderConfig, Vocabulary, build_decoder, build_encoder, save_model

    words = [
        "a",
        "cat",
        "dog",
        "on",
        "the",
        "grass",
        "red",
        "blue",
        "sky",
        "tree",
        "car",
        "road",
        "beach",
        "sea",
        "photo",
        "of",
    ]
    vocab = Vocabulary(words)
    torch.manual_seed(0)
    decoder = build_decoder(
        DecoderConfig(
            kind="attention", vocab_size=len(vocab), embed_dim=32, hidden_dim=48, attention_dim=24, dropout=0.0
        )
    ).eval()
    with torch.no_grad():
        decoder.fc.weight.mul_(12.0)  # sharper than random: captions of varied length
    path = tmp_path_factory.mktemp("models") / "tiny-attention.safetensors"
    save_model(path, build_encoder("efficientnet_lite0"), decoder, vocab, model_id="tiny-attn", name="tiny")
    return path
