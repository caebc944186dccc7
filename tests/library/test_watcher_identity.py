"""A move is a move only when the content says so: inode numbers are reused.

Delete photos and create unrelated ones at once: the file system hands the new files the
deleted ones' inode numbers, and a polling observer (which pairs deleted and created
files by inode) reports "moves". The new photos must not get the old photos' captions;
the old rows stay, missing, with their captions; a full rescan agrees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from photocap.ingest import FolderWatcher, scan
from photocap.library import open_library

from .conftest import make_photo
from .test_watcher import DEBOUNCE, Feed


def _reuses_inodes(folder: Path) -> bool:
    probe = folder / f".probe-{uuid.uuid4().hex}"
    inodes = []
    for _ in range(2):
        probe.write_bytes(b"x")
        inodes.append(probe.stat().st_ino)
        probe.unlink()
        probe = probe.with_name(probe.name + "-2")
    return inodes[0] == inodes[1]


@pytest.fixture
def reuse_dir(tmp_path):
    """A folder on a file system that gives a deleted file's inode number to the next new file."""
    for base in (tmp_path, Path("/dev/shm")):  # ext4 reuses at once; tmpfs did on older kernels
        if base.is_dir() and os.access(base, os.W_OK):
            folder = base / f"photocap-inodes-{uuid.uuid4().hex}"
            folder.mkdir()
            if _reuses_inodes(folder):
                yield folder
                subprocess.run(["rm", "-rf", str(folder)], check=False)
                return
            folder.rmdir()
    pytest.skip("no file system here reuses inode numbers at once")


@pytest.mark.parametrize("polling", [True, False], ids=["polling", "native"])
def test_unrelated_new_files_never_inherit_deleted_photos_captions(lib, reuse_dir, polling):
    photo_dir = reuse_dir / "Pictures"
    old = [make_photo(photo_dir / f"old_{i}.jpg", seed=i, size=(64, 48)) for i in range(10)]
    folder = lib.add_folder(photo_dir)
    scan(lib, folder.id)
    old_ids = {}
    for i, path in enumerate(old):
        old_ids[path] = lib.photo_by_path(path).id
        lib.set_user_caption(old_ids[path], f"grandma's birthday number {i}")
    old_inodes = {p.stat().st_ino for p in old}
    unrelated = [
        make_photo(reuse_dir / "staging" / f"{i}.jpg", seed=100 + i, size=(80, 60)).read_bytes() for i in range(10)
    ]

    feed = Feed(lib)
    with FolderWatcher(
        [photo_dir], feed, debounce=DEBOUNCE, force_polling=polling, poll_interval=1.0, root_check=60
    ) as watcher:
        assert watcher.modes[str(photo_dir)] == ("polling" if polling else "native")
        new = [photo_dir / f"new_{i}.jpg" for i in range(10)]
        for i, (gone, path) in enumerate(zip(old, new)):  # delete one, create one: its inode is free
            gone.unlink()
            path.write_bytes(unrelated[i])
        reused = old_inodes & {p.stat().st_ino for p in new}
        assert len(reused) >= 5, f"the file system reused only {len(reused)} inode numbers"
        feed.apply_until(
            lambda: (
                all(lib.photo_by_path(p) is not None for p in new)
                and all(lib.photo_by_path(p).status == "missing" for p in old)
            ),
            what="the new photos",
        )
    for path in new:
        photo = lib.photo_by_path(path)
        assert photo.id not in old_ids.values() and photo.caption is None, (path, photo.caption)
    for path, pid in old_ids.items():
        detail = lib.photo_detail(pid)
        assert detail.path == str(path) and detail.status == "missing"
        assert detail.caption.startswith("grandma's birthday") and detail.caption_source == "user"
    if polling:  # the observer did pair them by inode: this is the case that used to move captions
        assert any(c.kind == "moved" for _, c in feed.changes)
    assert feed.total("moved") == 0
    before = {p: lib.photo_by_path(p).id for p in new}
    report = scan(lib, folder.id)  # a full rescan agrees
    assert (report.added, report.moved, report.updated) == (0, 0, 0)
    assert {p: lib.photo_by_path(p).id for p in new} == before
    assert all(lib.photo_by_path(p).caption is None for p in new)


@pytest.mark.parametrize("polling", [True, False], ids=["polling", "native"])
def test_a_real_move_still_keeps_its_captions(lib, reuse_dir, polling):
    photo_dir = reuse_dir / "Pictures"
    a = make_photo(photo_dir / "a.jpg", seed=1)
    trip = [make_photo(photo_dir / "trip" / f"t{i}.jpg", seed=10 + i) for i in range(3)]
    folder = lib.add_folder(photo_dir)
    scan(lib, folder.id)
    ida = lib.photo_by_path(a).id
    lib.set_user_caption(ida, "the harbour at dawn")
    trip_ids = [lib.photo_by_path(p).id for p in trip]
    feed = Feed(lib)
    with FolderWatcher([photo_dir], feed, debounce=DEBOUNCE, force_polling=polling, poll_interval=0.5, root_check=60):
        a.rename(photo_dir / "harbour.jpg")
        (photo_dir / "trip").rename(photo_dir / "alps")
        moved = [photo_dir / "alps" / p.name for p in trip]
        feed.apply_until(
            lambda: (
                lib.photo_by_path(photo_dir / "harbour.jpg") is not None
                and all(lib.photo_by_path(p) is not None for p in moved)
            ),
            what="the moves",
        )
    assert lib.photo_by_path(photo_dir / "harbour.jpg").id == ida
    assert lib.photo_detail(ida).caption == "the harbour at dawn"
    assert [lib.photo_by_path(p).id for p in moved] == trip_ids
    assert lib.count_photos() == 4


def test_polling_takes_effect_for_a_folder_already_in_the_library(tmp_path, photo_dir):
    make_photo(photo_dir / "a.jpg")
    db = tmp_path / "library.sqlite"
    with open_library(db) as lib:
        scan(lib, lib.add_folder(photo_dir).id)  # added earlier, watched natively
        assert not lib.folders()[0].polling
    env = os.environ | {"PHOTOCAP_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "photocap",
            "index",
            str(photo_dir),
            "--library",
            str(db),
            "--no-caption",
            "--watch",
            "--polling",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = ""
        while "watching" not in line:  # the CLI says how each folder is watched once watching starts
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "photocap index --watch ended early"
        assert line.strip() == f"watching {photo_dir} (polling); Ctrl+C to stop"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with open_library(db) as lib:
        assert lib.folders()[0].polling  # remembered for next time (and for the app)
