"""A photo's content identity: cheap enough for 100,000 photos, and it survives moves.

``quick_identity`` hashes the file size with the first and last 64 KiB (BLAKE2b,
128 bits): two reads per file whatever its size, so a 100,000-photo library is
identified in the time it takes to read ~13 GB less than the whole thing. Moving or
renaming a file changes neither, so the scanner and watcher can find a "new" file's
old row (and its captions) again. Photos that differ only in the middle of a large file
would collide; for camera files the head holds EXIF with a timestamp, so in practice
they do not, and a collision only ever *links* a file to captions, it never deletes.

``held_out`` says whether a photo is one of the stable ``HOLDOUT_PERCENT`` (10 %) the trainer
holds out, from its identity: the same photo stays on the same side after a move or a re-scan
(the whole rule is in :mod:`trainer.datasets.library`).
"""

from __future__ import annotations

import hashlib
import os
import stat

from photocap.filenames import NotRegularFile

CHUNK = 64 * 1024
HOLDOUT_PERCENT = 10


def quick_identity(path: str | os.PathLike[str], size: int | None = None) -> str:
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


def held_out(identity: str) -> bool:
    """Whether the photo with this content identity is one of the held-out ``HOLDOUT_PERCENT``."""
    return int(hashlib.blake2b(identity.encode(), digest_size=4).hexdigest(), 16) % 100 < HOLDOUT_PERCENT
