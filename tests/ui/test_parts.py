"""Smaller parts: the grid model over 50,000 ids, thumbnails and their disk cache, text
highlighting and layout, settings round trip, the settings and about dialogs."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont, QFontMetricsF

from photocap.ui.item_models.photo_grid import PAGE, PhotoGridModel
from photocap.ui.jobs.lanes import Lane
from photocap.ui.jobs.thumbnails import ThumbnailLoader, cache_file
from photocap.ui.settings import AppSettings
from photocap.ui.text import highlight_runs, query_terms, search_query
from photocap.ui.views.grid import PhotoGrid
from photocap.ui.views.grid_delegate import layout_caption
from tests.ui.conftest import make_photo


class StubService(QObject):
    """Answers the grid model's library calls at once and records them."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n
        self.calls: list[tuple[str, tuple]] = []

    def list_photo_ids(self, filter=None, order="taken", *, on_result):
        self.calls.append(("list_photo_ids", (filter, order)))
        on_result(list(range(1, self.n + 1)))

    def photos_by_ids(self, ids, *, on_result):
        from photocap.library.records import PhotoSummary

        self.calls.append(("photos_by_ids", (ids,)))
        on_result(
            [
                PhotoSummary(i, f"/x/{i}.jpg", f"{i}.jpg", "ok", f"photo number {i}", "tags", False, None, 4, 3)
                for i in ids
            ]
        )


class NoThumbs(QObject):
    from PySide6.QtCore import Signal
    from PySide6.QtGui import QImage

    ready = Signal(object, QImage)
    failed = Signal(object, str)

    def __init__(self):
        super().__init__()
        self.requested = []

    def request(self, key, path):
        self.requested.append(key)


def test_grid_with_50000_photos_loads_only_what_is_on_screen(qtbot, app):
    service, thumbs = StubService(50_000), NoThumbs()
    model = PhotoGridModel(service, thumbs)
    grid = PhotoGrid(model, 160)
    qtbot.addWidget(grid)
    grid.resize(900, 700)
    grid.show()
    model.show(None)
    assert model.rowCount() == 50_000
    qtbot.waitExposed(grid)
    qtbot.waitUntil(lambda: len(thumbs.requested) > 0, timeout=5000)
    pages = [a for m, a in service.calls if m == "photos_by_ids"]
    assert 1 <= len(pages) <= 2 and all(len(a[0]) <= PAGE for a in pages)
    assert len(thumbs.requested) < 60  # only the visible cells asked for a thumbnail
    grid.scrollToBottom()
    qtbot.waitUntil(lambda: 50_000 in thumbs.requested, timeout=5000)
    pages = [a for m, a in service.calls if m == "photos_by_ids"]
    assert len(pages) <= 4  # jumped to the end: the last page only, not the 400 between
    assert len(grid.visible_ids()) < 80 and grid.visible_ids()[-1] == 50_000


def test_thumbnails_are_made_off_the_gui_thread_and_cached_on_disk(qtbot, app, tmp_path):
    lane = Lane("thumbs-test")
    try:
        loader = ThumbnailLoader(lane, size=256)
        path = make_photo(tmp_path / "big.jpg", seed=3, size=(1200, 800))
        with qtbot.waitSignal(loader.ready, timeout=10_000) as blocker:
            loader.request(7, str(path))
        key, image = blocker.args
        assert key == 7 and max(image.width(), image.height()) == 256
        cached = cache_file(str(path), 256)
        assert cached is not None and cached.exists()
        (tmp_path / "bad.jpg").write_bytes(b"not a photo")
        with qtbot.waitSignal(loader.failed, timeout=10_000) as blocker:
            loader.request(8, str(tmp_path / "bad.jpg"))
        assert blocker.args[0] == 8 and blocker.args[1]
    finally:
        assert lane.shutdown()


def test_an_unexpected_decoder_error_fails_that_thumbnail_and_the_loader_goes_on(qtbot, app, tmp_path, monkeypatch):
    from photocap import imaging

    real = imaging.make_thumbnail

    def fragile(path, size=256):  # e.g. a Pillow plugin bug on one odd file
        if str(path).endswith("odd.jpg"):
            raise ValueError("plugin bug")
        return real(path, size)

    monkeypatch.setattr(imaging, "make_thumbnail", fragile)
    lane = Lane("thumbs-test")
    try:
        loader = ThumbnailLoader(lane, size=256)
        odd = make_photo(tmp_path / "odd.jpg", seed=4)
        fine = make_photo(tmp_path / "fine.jpg", seed=5)
        with qtbot.waitSignal(loader.failed, timeout=10_000) as blocker:
            loader.request(1, str(odd))
        assert blocker.args == [1, "could not be read (ValueError)"]
        with qtbot.waitSignal(loader.ready, timeout=10_000) as blocker:
            loader.request(2, str(fine))
        assert blocker.args[0] == 2
    finally:
        assert lane.shutdown()


def test_query_terms_highlighting_and_prefix_search():
    assert query_terms('red "beach house" -dog OR cat*') == ("red", "beach", "house", "cat")
    assert search_query("sandy bea") == "sandy bea*"
    assert search_query("sandy beach ") == "sandy beach"
    assert search_query("-dog") == "-dog"
    runs = highlight_runs("Two dogs on a sandy beach.", ("dog", "beach"))
    assert [r for r in runs if r[1]] == [("dogs", True), ("beach", True)]
    assert "".join(t for t, _ in runs) == "Two dogs on a sandy beach."


def test_caption_layout_wraps_and_elides_to_two_lines(app):
    base = QFont()
    bold = QFont(base)
    bold.setBold(True)
    fms = (QFontMetricsF(base), QFontMetricsF(bold))
    text = "a very long caption about a dog running on a beach under a cloudy sky near the sea"
    lines = layout_caption(highlight_runs(text, ("beach",)), fms, 120, 2)
    assert len(lines) == 2
    assert lines[-1][-1][1].endswith("…")
    assert all(x + fms[b].horizontalAdvance(t) <= 121 for line in lines for x, t, b in line)
    short = layout_caption([("a cat", False)], fms, 300, 2)
    assert [[t for _, t, _ in line] for line in short] == [["a", "cat"]]


def test_settings_round_trip_and_dialog(qtbot, app):
    s = AppSettings(device="cpu", beam=5, max_len=16, thumb_size=224, library_path="/tmp/x.sqlite", theme="dark")
    s.save()
    assert AppSettings.load() == s
    from photocap.ui.views.settings_dialog import SettingsDialog

    dialog = SettingsDialog(s, [])
    qtbot.addWidget(dialog)
    assert dialog.cache_limit.value() == 4  # the 4 GB default, shown in GB
    dialog.beam.setValue(2)
    dialog.thumb.setCurrentIndex(0)
    dialog.cache_limit.setValue(2)
    out = dialog.result_settings()
    assert (out.beam, out.thumb_size, out.device, out.library_path) == (2, 128, "cpu", "/tmp/x.sqlite")
    assert out.cache_limit_mb == 2048


def test_settings_dialog_fits_a_laptop_screen_without_squeezing_a_group(qtbot, app):
    """1366x768 leaves about 700 px for a dialog; one column of groups was ~1000 px tall, and a
    screen too short for it squeezed the folder list under its buttons."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QGroupBox, QPushButton

    from photocap.library.values import SETTING_WRITE_SIDECARS
    from photocap.ui.views.settings_dialog import SettingsDialog

    long = "/media/me/Backup disk 2019/Family photos/2019-08 Summer holiday in Denmark/Hvide Sande"
    folders = [
        SimpleNamespace(id=1, path="/home/me/Pictures/Travel", photo_count=11, status="ok"),
        SimpleNamespace(id=2, path=long, photo_count=250, status="ok"),
    ]
    dialog = SettingsDialog(AppSettings(), folders, library_settings={SETTING_WRITE_SIDECARS: False})
    qtbot.addWidget(dialog)
    hint = dialog.sizeHint()
    assert hint.height() <= 700 and hint.width() <= 1300
    dialog.resize(hint)
    dialog.show()
    qtbot.waitExposed(dialog)
    groups = dialog.findChildren(QGroupBox)
    assert {g.title() for g in groups} >= {"Captioning", "Watched folders", "Captions and other apps"}
    for group in groups:
        assert group.height() >= group.minimumSizeHint().height(), group.title()
    assert not dialog.folders.horizontalScrollBar().isVisible()  # a long path is shortened in its middle
    assert dialog.folders.item(1).toolTip() == long
    buttons = dialog.folders.parent().findChildren(QPushButton)  # Add…, Remove, Rescan
    assert dialog.folders.geometry().bottom() < min(b.geometry().top() for b in buttons)


def test_about_lists_qt_torch_and_device(qtbot, app):
    from photocap.ui.jobs.model_work import EngineInfo
    from photocap.ui.views.about import AboutDialog

    info = EngineInfo("tags:efficientnet_lite0", "CPU · 2 threads", "CPU", False, "tags", "2.14.1", 1.0)
    dialog = AboutDialog(info)
    qtbot.addWidget(dialog)
    rows = dict(dialog.rows)
    assert rows["torch"] == "2.14.1" and rows["Device"] == "CPU · 2 threads" and rows["Qt"].startswith("6.")


def test_caption_editor_keys(qtbot, app):
    from photocap.ui.views.caption_editor import CaptionEditor

    editor = CaptionEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.set_caption("a cat")
    qtbot.keyClicks(editor, "xyz")  # read-only until F2
    assert editor.toPlainText() == "a cat"
    qtbot.keyClick(editor, Qt.Key.Key_F2)
    qtbot.keyClicks(editor, "a black cat")
    with qtbot.waitSignal(editor.committed) as blocker:
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == ["a black cat"] and not editor.editing


def test_switching_to_dark_recolours_views_and_forgets_closed_ones(qtbot, app):
    from PySide6.QtGui import QColor

    from photocap.ui import style
    from photocap.ui.views.empty_state import EmptyState
    from photocap.ui.views.header import Header

    gone = Header()
    gone.deleteLater()
    qtbot.waitUntil(lambda: not shiboken_valid(gone), timeout=2000)
    header = Header()
    qtbot.addWidget(header)
    empty = EmptyState()
    qtbot.addWidget(empty)
    try:
        style.apply(app, "dark")  # a destroyed view must not be called back
        assert style.current().dark and QColor(style.DARK.window).name() in app.styleSheet()
        icon = header._search_icon.icon().pixmap(16, 16).toImage()
        colours = {icon.pixelColor(x, y).name() for x in range(16) for y in range(16) if icon.pixelColor(x, y).alpha()}
        assert QColor(style.DARK.muted).name() in colours
    finally:
        style.apply(app, "light")


def shiboken_valid(obj) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)
