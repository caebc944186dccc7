"""A burst of 1,000 files created, moved and deleted in a watched folder: the library ends
equal to the disk (waited for on that condition, with a deadline), native and polling."""

from __future__ import annotations

import os
import queue
import random
import time

import pytest

from photocap.ingest import FolderWatcher, apply_changes, scan
from photocap.library import open_library
from tests.hostile.corpus import encoded, photo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _on_disk(root) -> set[str]:
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


def _in_library(lib) -> set[str]:
    return {s.path for s in lib.photos_by_ids(lib.list_photo_ids())}


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_a_burst_of_1000_files_ends_with_the_library_equal_to_the_disk(tmp_path, polling):
    rng = random.Random(7)
    folder = tmp_path / "Pictures"
    (folder / "sorted").mkdir(parents=True)
    blobs = [encoded(photo(i, (24, 18)), "JPEG", quality=70) for i in range(1000)]
    batches: queue.Queue = queue.Queue()
    with open_library(tmp_path / "library.sqlite") as lib:
        scan(lib, lib.add_folder(folder).id)
        with FolderWatcher(
            [folder], batches.put, debounce=0.5, force_polling=polling, poll_interval=0.5, root_check=60
        ):
            names = [folder / f"IMG_{i:04d}.jpg" for i in range(1000)]
            for name, blob in zip(names, blobs):
                name.write_bytes(blob)
            moved = rng.sample(names, 300)
            for i, path in enumerate(moved):
                path.rename(folder / "sorted" / (f"renamed_{i}.jpg" if i % 2 else path.name))
            for path in rng.sample([n for n in names if n not in moved], 200):
                path.unlink()
            (folder / "sorted").rename(folder / "sorted 2024")  # and a folder move on top
            want = _on_disk(folder)
            assert len(want) == 800
            deadline = time.monotonic() + 600
            while _in_library(lib) != want:
                assert time.monotonic() < deadline, f"library != disk: {len(_in_library(lib) ^ want)} differ"
                try:
                    apply_changes(lib, batches.get(timeout=0.5))
                except queue.Empty:
                    continue
        assert lib.count_photos() == 800
        assert len(lib.problems()) == 0
        report = scan(lib, lib.folders()[0].id)  # a full rescan finds nothing to do
        assert (report.added, report.moved, report.updated, report.missing) == (0, 0, 0, 0)
        assert lib.check_integrity() == []
