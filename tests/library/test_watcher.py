"""Live watching with real watchdog observers on real folders.

The watcher's debounce and root check run on a :class:`Clock` the test moves (``Feed.apply_until``
moves it on whenever no batch is waiting), so no test waits on wall time for the debounce; the
only real waits are for the operating system's file events, each bounded and ended by the event
itself (a batch arriving on the queue). Two tests keep the real clock, end to end, as the app and
the CLI run it: ``test_callback_runs_off_watchdogs_thread_...`` (ended by events) and
``test_half_written_file_...``, whose sleeps are the scenario (a writer that takes wall time)."""

from __future__ import annotations

import errno
import io
import queue
import shutil
import threading
import time

import pytest
from PIL import Image
from watchdog.observers import Observer

from photocap.ingest import FolderWatcher, apply_changes, scan
from photocap.ingest.files import quick_identity

from .conftest import make_photo

DEBOUNCE = 0.4


class Clock:
    """The watchers' clock, moved only by the test: :meth:`advance` wakes the watchers to look again."""

    def __init__(self):
        self.now = 1000.0
        self.watchers = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for w in self.watchers:
            w.wake()

    def watcher(self, *args, **kwargs) -> FolderWatcher:
        w = FolderWatcher(*args, clock=self, **kwargs)
        self.watchers.append(w)
        return w


class WallClock:
    """The real clock, for the watchers that run on it (moving it is not the test's to do)."""

    def __call__(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        pass


class Feed:
    """The watcher's callback puts batches on a queue; the test thread applies them (like the CLI)."""

    def __init__(self, lib, clock=None):
        self.lib = lib
        self.clock = clock or Clock()
        self.batches: queue.Queue = queue.Queue()
        self.changes = []  # (the watcher's time when received, Change)
        self.reports = []

    def __call__(self, batch):
        now = self.clock()
        self.changes.extend((now, c) for c in batch)
        self.batches.put(batch)

    def apply_until(self, predicate, timeout=20.0, what="condition"):
        """Apply batches until ``predicate()``; while none is waiting, the watcher's clock moves on by a
        debounce time (the operating system's events take real time to arrive: ``timeout`` bounds that)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; changes so far: {self.changes[-5:]}")
            try:
                batch = self.batches.get(timeout=0.1)
            except queue.Empty:
                self.clock.advance(DEBOUNCE)
                continue
            self.reports.append(apply_changes(self.lib, batch))

    def total(self, field):
        return sum(getattr(r, field) for r in self.reports)


@pytest.fixture
def watched(lib, photo_dir):
    folder = lib.add_folder(photo_dir)
    scan(lib, folder.id)
    feed = Feed(lib)
    watcher = feed.clock.watcher([photo_dir], feed, debounce=DEBOUNCE, root_check=0.3, poll_interval=0.2)
    watcher.start()
    yield lib, photo_dir, feed, watcher
    watcher.stop()


def test_burst_of_200_files_each_indexed_exactly_once(watched, tmp_path):
    lib, photo_dir, feed, watcher = watched
    assert watcher.modes[str(photo_dir)] == "native"
    staging = tmp_path / "camera"
    for i in range(200):
        make_photo(staging / f"IMG_{i:04d}.jpg", seed=i)
    for f in sorted(staging.iterdir()):
        shutil.copy(f, photo_dir / f.name)
    # The last copy, after all the others: inotify reports one folder's events in order, so once this
    # one is out, any late duplicate of the 200 was recorded before it and went out with it or earlier
    # (the same debounce, on the same clock). No waiting for duplicates that might still come.
    last = make_photo(photo_dir / "zz-last.jpg", seed=999)
    feed.apply_until(lambda: any(c.path == str(last) for _, c in feed.changes), what="the last copy")
    while not feed.batches.empty():
        feed.reports.append(apply_changes(lib, feed.batches.get()))
    emitted = [c.path for _, c in feed.changes if c.path != str(last)]
    assert len(emitted) == len(set(emitted)) == 200
    assert feed.total("added") == 201 and feed.total("updated") == 0
    assert lib.count_photos() == 201 and len(lib.photos_needing_caption("m")) == 201


def test_half_written_file_is_not_read_until_complete(lib, photo_dir):
    """On the real clock, with real sleeps: the scenario *is* a writer that takes wall time (a slow copy,
    a chunk every 0.15 s, under the debounce), and what is tested is that the watcher, running on its
    own thread meanwhile, reports the file once, complete. On a test-moved clock the chunks would be
    written faster than the watcher looks, and the test would pass whether it waited or not."""
    lib.add_folder(photo_dir)
    feed = Feed(lib, clock=WallClock())
    buf = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    target = photo_dir / "download.jpg"
    step = len(data) // 12
    with FolderWatcher([photo_dir], feed, debounce=DEBOUNCE):
        with open(target, "wb") as fh:
            for i in range(0, len(data), step):
                fh.write(data[i : i + step])
                fh.flush()
                time.sleep(0.15)
        finished = time.monotonic()
        feed.apply_until(lambda: lib.photo_by_path(target) is not None, what="the finished file")
    times = [t for t, c in feed.changes if c.path == str(target)]
    assert len(times) == 1 and times[0] >= finished
    detail = lib.photo_detail(lib.photo_by_path(target).id)
    assert detail.size == len(data) and detail.identity == quick_identity(target)
    assert (detail.width, detail.height, detail.status) == (400, 300, "ok")


def test_moves_renames_and_folder_moves_keep_captions(watched):
    lib, photo_dir, feed, _ = watched
    a = make_photo(photo_dir / "a.jpg", seed=1)
    b = make_photo(photo_dir / "trip" / "b.jpg", seed=2)
    feed.apply_until(lambda: lib.count_photos() == 2, what="two photos")
    ida, idb = lib.photo_by_path(a).id, lib.photo_by_path(b).id
    lib.set_user_caption(ida, "sunset over the harbour")
    lib.record_caption(idb, "a mountain", "model", "m")
    renamed = photo_dir / "harbour.jpg"
    a.rename(renamed)
    (photo_dir / "trip").rename(photo_dir / "alps 2024")
    moved_b = photo_dir / "alps 2024" / "b.jpg"
    feed.apply_until(
        lambda: lib.photo_by_path(renamed) is not None and lib.photo_by_path(moved_b) is not None, what="moves"
    )
    assert lib.photo_by_path(renamed).id == ida and lib.photo_by_path(moved_b).id == idb
    assert lib.photo_detail(ida).caption == "sunset over the harbour"
    assert lib.search("alps mountain")[0].photo_id == idb
    assert lib.count_photos() == 2 and feed.total("added") == 2


def test_a_photo_that_failed_while_being_moved_gets_another_chance_after_the_move(watched):
    lib, photo_dir, feed, _ = watched
    a = make_photo(photo_dir / "a.jpg", seed=1)
    feed.apply_until(lambda: lib.photo_by_path(a) is not None, what="new photo")
    pid = lib.photo_by_path(a).id
    lib.record_problem(pid, "file vanished while reading")  # the captioner lost the race with the move
    assert not lib.photos_needing_caption("m")
    moved = photo_dir / "sorted.jpg"
    a.rename(moved)
    feed.apply_until(lambda: lib.photo_by_path(moved) is not None, what="move")
    d = lib.photo_detail(pid)
    assert d.status == "ok" and not d.error
    assert [p.id for p in lib.photos_needing_caption("m")] == [pid]


def test_delete_then_restore(watched, tmp_path):
    lib, photo_dir, feed, _ = watched
    p = make_photo(photo_dir / "a.jpg", seed=3)
    feed.apply_until(lambda: lib.photo_by_path(p) is not None, what="new photo")
    pid = lib.photo_by_path(p).id
    lib.set_user_caption(pid, "first day of school")
    shutil.move(p, tmp_path / "a.jpg")
    feed.apply_until(lambda: lib.photo_detail(pid).status == "missing", what="missing")
    assert lib.photo_detail(pid).caption == "first day of school"
    shutil.move(tmp_path / "a.jpg", p)
    feed.apply_until(lambda: lib.photo_detail(pid).status == "ok", what="restored")
    assert lib.search("school")[0].photo_id == pid


def test_modified_file_gets_recaptioned_unless_user_wrote_it(watched):
    lib, photo_dir, feed, _ = watched
    a, b = make_photo(photo_dir / "a.jpg", seed=1), make_photo(photo_dir / "b.jpg", seed=2)
    feed.apply_until(lambda: lib.count_photos() == 2, what="two photos")
    ida, idb = lib.photo_by_path(a).id, lib.photo_by_path(b).id
    lib.record_caption(ida, "auto", "model", "m")
    lib.set_user_caption(idb, "mine")
    make_photo(a, "green", size=(80, 60), seed=5)
    make_photo(b, "green", size=(80, 60), seed=6)
    feed.apply_until(lambda: lib.photo_detail(ida).width == 80 and lib.photo_detail(idb).width == 80, what="updates")
    assert [r.id for r in lib.photos_needing_caption("m")] == [ida]


def test_survives_root_disappearing_and_coming_back(watched, tmp_path):
    lib, photo_dir, feed, _watcher = watched
    p = make_photo(photo_dir / "a.jpg", seed=1)
    feed.apply_until(lambda: lib.photo_by_path(p) is not None, what="new photo")
    pid = lib.photo_by_path(p).id
    lib.set_user_caption(pid, "kept through an unplug")
    photo_dir.rename(tmp_path / "elsewhere")
    feed.apply_until(lambda: lib.folders()[0].status == "missing", what="folder missing")
    assert lib.photo_detail(pid).status == "missing"
    (tmp_path / "elsewhere").rename(photo_dir)
    feed.apply_until(lambda: lib.photo_detail(pid).status == "ok", what="folder back")
    assert lib.folders()[0].status == "ok"
    q = make_photo(photo_dir / "new.jpg", seed=2)  # and it is watched again
    feed.apply_until(lambda: lib.photo_by_path(q) is not None, what="a photo after the comeback")
    assert lib.photo_detail(pid).caption == "kept through an unplug"


class LimitedObserver(Observer):
    """A real inotify observer on a machine whose watch limit is already used up."""

    def schedule(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def test_falls_back_to_polling_when_the_watch_limit_is_hit(lib, photo_dir):
    folder = lib.add_folder(photo_dir)
    feed = Feed(lib)
    with feed.clock.watcher([photo_dir], feed, debounce=0.3, poll_interval=0.2, observer_factory=LimitedObserver) as w:
        assert w.modes[str(photo_dir)].startswith("polling (inotify watch limit")
        p = make_photo(photo_dir / "a.jpg", seed=1)
        feed.apply_until(lambda: lib.photo_by_path(p) is not None, what="photo seen by polling")
    assert lib.photo_detail(lib.photo_by_path(p).id).folder == folder.path


def test_polling_by_choice_for_network_folders(lib, photo_dir):
    lib.add_folder(photo_dir, polling=True)
    feed = Feed(lib)
    with feed.clock.watcher([photo_dir], feed, debounce=0.3, poll_interval=0.2, polling_roots=[photo_dir]) as w:
        assert w.modes[str(photo_dir)] == "polling"
        p = make_photo(photo_dir / "a.jpg", seed=1)
        feed.apply_until(lambda: lib.photo_by_path(p) is not None, what="photo seen by polling")
        p.unlink()
        feed.apply_until(lambda: lib.count_photos() == 0, what="deletion seen by polling")


def test_callback_runs_off_watchdogs_thread_and_a_failing_callback_does_not_stop_it(photo_dir):
    """End to end on the real clock (time.monotonic), as the app and the CLI run it; ended by events."""
    first, second = threading.Event(), threading.Event()
    calls = []

    def on_change(batch):
        calls.append(threading.current_thread().name)
        if not first.is_set():
            first.set()
            raise RuntimeError("consumer bug")
        second.set()

    with FolderWatcher([photo_dir], on_change, debounce=0.2):
        make_photo(photo_dir / "a.jpg")
        assert first.wait(10)
        make_photo(photo_dir / "b.jpg")
        assert second.wait(10)
    assert set(calls) == {"photocap-watcher"}


def test_polled_root_disappearing_and_coming_back(lib, photo_dir, tmp_path):
    folder = lib.add_folder(photo_dir, polling=True)
    p = make_photo(photo_dir / "a.jpg", seed=1)
    scan(lib, folder.id)
    pid = lib.photo_by_path(p).id
    lib.set_user_caption(pid, "on the network share")
    feed = Feed(lib)
    with feed.clock.watcher(
        [photo_dir], feed, debounce=0.3, poll_interval=0.2, root_check=0.3, polling_roots=[photo_dir]
    ) as w:
        photo_dir.rename(tmp_path / "share-offline")
        feed.apply_until(lambda: lib.photo_detail(pid).status == "missing", what="share gone")
        assert w.modes[str(photo_dir)] == "missing"
        (tmp_path / "share-offline").rename(photo_dir)
        feed.apply_until(lambda: lib.photo_detail(pid).status == "ok", what="share back")
        q = make_photo(photo_dir / "b.jpg", seed=2)
        feed.apply_until(lambda: lib.photo_by_path(q) is not None, what="polling again after the comeback")
        assert w.modes[str(photo_dir)] == "polling"
    assert lib.photo_detail(pid).caption == "on the network share"


def test_set_roots_adds_and_removes_folders_without_a_restart(lib, photo_dir, tmp_path):
    other = tmp_path / "other"
    later = tmp_path / "plugged-in-later"  # a missing folder (unplugged disk) is followed too
    other.mkdir()
    lib.add_folder(photo_dir)
    lib.add_folder(other)
    feed = Feed(lib)
    with feed.clock.watcher([photo_dir], feed, debounce=DEBOUNCE, root_check=0.3) as w:
        watcher_thread = w._thread  # noqa: SLF001 (the watcher's own thread: the test is that it stays the same)
        w.set_roots([photo_dir, other, later])
        assert w.modes[str(other)] == "native" and w.modes[str(later)] == "missing"
        p = make_photo(other / "a.jpg", seed=1)
        feed.apply_until(lambda: lib.photo_by_path(p) is not None, what="photo in the added folder")
        later.mkdir()
        feed.apply_until(lambda: w.modes.get(str(later)) == "native", what="the missing folder appearing")
        w.set_roots([other, later])
        assert str(photo_dir) not in w.modes
        make_photo(photo_dir / "not-watched.jpg", seed=2)
        q = make_photo(other / "b.jpg", seed=3)
        feed.apply_until(lambda: lib.photo_by_path(q) is not None, what="photo in a folder still watched")
        assert w._thread is watcher_thread  # noqa: SLF001 (the same watcher all along)
    assert not any(str(c.path).endswith("not-watched.jpg") for _, c in feed.changes)
