"""Writers that meet on one library: processes and threads adding folders, scanning,
captioning and migrating at once; and a caption made from a version of a file that has
since been replaced."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from photocap.ingest import scan
from photocap.library import open_library
from photocap.library.db import current_revision, find_backups, head_revision, make_sql_engine, upgrade

from .conftest import make_photo

PY = [sys.executable, "-m", "photocap"]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def _start_together(commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Start every command at once (each waits for a go file), then collect their outputs."""
    go = Path(os.environ["PHOTOCAP_DATA_DIR"]) / f"go-{time.monotonic_ns()}"
    gate = (
        "import os, sys, time, runpy\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
        "sys.argv = ['photocap'] + sys.argv[1:]\n"
        "runpy.run_module('photocap', run_name='__main__')\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", gate, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
        )
        for cmd in commands
    ]
    time.sleep(1.0)  # every interpreter up and importing; the gate opens for all at once
    go.touch()
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _tree(root: Path) -> set[str]:
    for i in range(12):
        make_photo(root / f"a{i}.jpg", seed=i)
        make_photo(root / "sub" / f"b{i}.jpg", seed=100 + i)
        make_photo(root / "sub" / "deeper" / f"c{i}.png", seed=200 + i)
    return {str(p) for p in root.rglob("*") if p.is_file()}


def _assert_equal_to_disk(path: Path, root: Path, on_disk: set[str]) -> None:
    with open_library(path) as lib:
        assert [f.path for f in lib.folders()] == [str(root)]  # nested roots: one watched folder
        rows = lib.photos_by_ids(lib.list_photo_ids())
        assert {r.path for r in rows} == on_disk
        assert {r.status for r in rows} == {"ok"}
        folder = lib.folders()[0]
        assert folder.photo_count == len(on_disk)
        assert lib.check_integrity(backup=False) == []


def test_three_processes_index_one_fresh_library(tmp_path):
    root = tmp_path / "Pictures"
    on_disk = _tree(root)
    for round_, order in enumerate(([root, root, root / "sub"], [root / "sub", root / "sub" / "deeper", root])):
        path = tmp_path / f"library{round_}.sqlite"
        results = _start_together([["index", "--no-caption", str(folder), "--library", str(path)] for folder in order])
        for r in results:
            assert r.returncode == 0, r.stderr
            assert "Traceback" not in r.stderr + r.stdout and "Error" not in r.stderr, r.stderr
        _assert_equal_to_disk(path, root, on_disk)
        assert find_backups(path) == []  # a brand-new file is never backed up


def test_threads_adding_the_same_and_nested_folders(lib, tmp_path):
    root = tmp_path / "Pictures"
    on_disk = _tree(root)
    errors: list[BaseException] = []

    def work(folder: Path) -> None:
        try:
            scan(lib, lib.add_folder(folder).id)
            scan(lib, folder)
        except BaseException as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(f,))
        for f in (root / "sub" / "deeper", root / "sub", root, root, root / "sub")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _assert_equal_to_disk(lib.path, root, on_disk)


def test_a_folder_merged_away_mid_scan_does_not_break_the_scan(lib, tmp_path):
    root = tmp_path / "Pictures"
    on_disk = _tree(root)
    sub = lib.add_folder(root / "sub")
    seen = []

    def merge_once(progress) -> None:  # another writer adds the folder around it, mid-scan
        if not seen:
            seen.append(lib.add_folder(root))

    scan(lib, sub.id, progress=merge_once)
    scan(lib, root)
    _assert_equal_to_disk(lib.path, root, on_disk)
    with lib.reading() as s:
        names = {
            r.folder_name
            for r in s.execute(text("SELECT folder_name FROM photos WHERE CAST(path AS TEXT) LIKE '%/deeper/%'"))
        }
    assert names == {"Pictures / sub / deeper"}


def test_processes_opening_one_new_file_migrate_it_once(tmp_path):
    path = tmp_path / "new.sqlite"
    code = (
        "import sys; from photocap.library import open_library; "
        "lib = open_library(sys.argv[1]); print(len(lib.folders())); lib.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e for _, e in outs]
    assert [o.strip() for o, _ in outs] == ["0"] * 4
    assert find_backups(path) == [] and not list(tmp_path.glob("*.bak"))
    engine = make_sql_engine(path)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_processes_opening_one_old_library_back_it_up_once(tmp_path):
    path = tmp_path / "old.sqlite"
    engine = make_sql_engine(path)
    upgrade(engine, "0001")
    engine.dispose()
    code = "import sys; from photocap.library import open_library; open_library(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True, env=_env())
        for _ in range(3)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 3, errs
    assert [b.path.name for b in find_backups(path)] == [f"old.sqlite.before-{head_revision()}.bak"]


# ---- a caption lands only on the version of the file it was made from ---------------------------
def test_a_caption_of_a_replaced_version_is_dropped_and_the_photo_stays_queued(lib, photo_dir):
    photo = make_photo(photo_dir / "a.jpg", seed=1)
    scan(lib, lib.add_folder(photo_dir).id)
    pid = lib.photo_by_path(photo).id
    st = os.stat(photo)
    version1 = (st.st_size, st.st_mtime_ns)  # what the caption pass read before decoding
    make_photo(photo, seed=2, size=(90, 60))  # meanwhile: version 2 written, and recorded
    scan(lib, photo_dir)
    assert lib.record_caption(pid, "a caption of version 1", "model", "m", file_version=version1) is False
    assert lib.photo_detail(pid).caption is None
    assert [r.id for r in lib.photos_needing_caption("m")] == [pid]

    st = os.stat(photo)
    assert lib.record_caption(pid, "a caption of version 2", "model", "m", file_version=(st.st_size, st.st_mtime_ns))
    assert lib.photo_detail(pid).caption == "a caption of version 2"
    assert lib.photos_needing_caption("m") == []


def test_a_stale_caption_stays_stale_when_the_old_version_is_described(lib, photo_dir):
    photo = make_photo(photo_dir / "a.jpg", seed=1)
    scan(lib, lib.add_folder(photo_dir).id)
    pid = lib.photo_by_path(photo).id
    lib.record_caption(pid, "the old automatic caption", "model", "m")
    st = os.stat(photo)
    version1 = (st.st_size, st.st_mtime_ns)
    make_photo(photo, seed=2, size=(90, 60))
    scan(lib, photo_dir)  # caption_stale: it needs describing again
    assert lib.record_caption(pid, "made from version 1", "model", "m", file_version=version1) is False
    assert lib.photo_detail(pid).caption == "the old automatic caption"
    assert [r.id for r in lib.photos_needing_caption("m")] == [pid]


def test_a_file_not_yet_rescanned_is_not_described_from_its_new_bytes(lib, photo_dir):
    """The file changed on disk but the library still has version 1: the caption of
    version 2 does not land on version 1's row (the next scan records it and it is queued)."""
    photo = make_photo(photo_dir / "a.jpg", seed=1)
    scan(lib, lib.add_folder(photo_dir).id)
    pid = lib.photo_by_path(photo).id
    make_photo(photo, seed=2, size=(90, 60))
    st = os.stat(photo)
    assert lib.record_caption(pid, "version 2", "model", "m", file_version=(st.st_size, st.st_mtime_ns)) is False
    scan(lib, photo_dir)
    assert [r.id for r in lib.photos_needing_caption("m")] == [pid]
