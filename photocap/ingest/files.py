"""Reading a file's facts for the library: is it a photo, its content identity, its metadata.

The file side of ingest, all I/O and no database: the scanner and the watcher call
:func:`examine` *outside* any write transaction, then hand its :class:`~photocap.library.photos.FileFacts`
to the store (``photocap.library.photos.upsert`` inside ``Library.writing()``).

``quick_identity`` hashes the file size with the first and last 64 KiB (BLAKE2b,
128 bits): two reads per file whatever its size, so a 100,000-photo library is
identified in the time it takes to read ~13 GB less than the whole thing. Moving or
renaming a file changes neither, so the scanner and watcher can find a "new" file's
old row (and its captions) again. Photos that differ only in the middle of a large file
would collide; for camera files the head holds EXIF with a timestamp, so in practice
they do not, and a collision only ever *links* a file to captions, it never deletes.
"""

from __future__ import annotations

import hashlib
import os
import stat

from photocap.filenames import NotRegularFile, os_reason
from photocap.library.photos import FileFacts

CHUNK = 64 * 1024

# never photos: not even sniffed (keeps a re-scan of a tree full of sidecars free of reads)
NOT_PHOTO_EXTENSIONS = frozenset(
    {
        ".xmp",
        ".json",
        ".txt",
        ".md",
        ".pdf",
        ".xml",
        ".aae",
        ".thm",
        ".db",
        ".ini",
        ".mov",
        ".mp4",
        ".m4v",
        ".avi",
        ".mkv",
        ".mts",
        ".3gp",
        ".wav",
        ".mp3",
        ".m4a",
        ".zip",
        ".sqlite",
        ".sqlite-wal",
        ".sqlite-shm",
        ".tmp",
        ".part",
        ".crdownload",
        ".html",
        ".css",
        ".js",
        ".py",
        ".csv",
    }
)


def quick_identity(path: str | os.PathLike, size: int | None = None) -> str:
    """32 hex characters. Raises ``OSError`` if the file cannot be read or is not a regular file
    (a named pipe that replaced a photo is refused, never waited on)."""
    h = hashlib.blake2b(digest_size=16)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(st.st_mode)
        if size is None:
            size = st.st_size
        h.update(size.to_bytes(8, "little"))
        h.update(fh.read(CHUNK))
        if size > 2 * CHUNK:
            fh.seek(-CHUNK, os.SEEK_END)
            h.update(fh.read(CHUNK))
        elif size > CHUNK:
            h.update(fh.read())
    return h.hexdigest()


def is_candidate(path: str) -> bool:
    """Worth treating as a photo: not hidden, not a known non-photo, and a photo by name or bytes."""
    from photocap import imaging

    name = os.path.basename(path)
    if name.startswith("."):
        return False
    if os.path.splitext(name)[1].lower() in NOT_PHOTO_EXTENSIONS:
        return False
    return imaging.looks_like_photo(path)


def examine(path: str, st: os.stat_result | None = None) -> FileFacts:
    """Identity and metadata of one file (no pixel decoding); never raises."""
    from photocap import imaging, metadata

    try:
        st = st or os.stat(path)
        identity = quick_identity(path, st.st_size)
    except OSError as exc:
        return FileFacts(
            path,
            getattr(st, "st_size", 0),
            getattr(st, "st_mtime_ns", 0),
            None,
            None,
            os_reason(exc),
            gone=isinstance(exc, FileNotFoundError),
        )
    try:
        meta = imaging.read_meta(path)
        return FileFacts(
            path,
            st.st_size,
            st.st_mtime_ns,
            identity,
            meta,
            None,
            described=metadata.read_descriptions(path),
            sidecar_mtime_ns=metadata.newest_sidecar(path),
        )
    except imaging.ImageError as exc:
        return FileFacts(path, st.st_size, st.st_mtime_ns, identity, None, exc.reason)
    except Exception as exc:
        return FileFacts(path, st.st_size, st.st_mtime_ns, identity, None, imaging.reason_for(exc))


def identity_or_none(path: str) -> str | None:
    """The content identity of the file at ``path``, or None if it cannot be read."""
    try:
        return quick_identity(path)
    except OSError:
        return None
