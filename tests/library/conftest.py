"""Fixtures for library tests: real SQLite files in temp folders, small real photos, waits.

After every test, each library file the test left under its temp folder must pass
``PRAGMA integrity_check`` and the FTS5 index's own integrity check against the photos table.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from PIL import Image

from photocap.library import open_library

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black", "navy", "teal"]


def make_photo(path: Path, colour: str | tuple = "red", size: tuple[int, int] = (48, 32), seed: int = 0) -> Path:
    """A small real JPEG/PNG (by suffix); ``seed`` changes a pixel so files differ in content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, colour)
    im.putpixel((seed % size[0], (seed // size[0]) % size[1]), (seed * 37 % 256, seed * 91 % 256, seed % 256))
    im.save(path, format="PNG" if path.suffix.lower() == ".png" else "JPEG", quality=90)
    return path


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def integrity_problems(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        found = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        has_fts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'photo_fts'").fetchone()
        if has_fts:
            try:
                conn.execute("INSERT INTO photo_fts(photo_fts, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                found.append(f"fts: {exc}")
        return found
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _libraries_stay_consistent(tmp_path):
    yield
    for db in sorted(tmp_path.rglob("*.sqlite")):
        assert integrity_problems(db) == [], db


@pytest.fixture
def lib(tmp_path):
    library = open_library(tmp_path / "library.sqlite")
    yield library
    library.close()


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    d = tmp_path / "Pictures"
    d.mkdir()
    return d
