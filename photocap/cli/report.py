"""How the commands talk to people: one line per message on stderr, file names readable.

A file name is shown with :func:`photocap.library.filenames.readable` (undecodable bytes
as U+FFFD, a newline as ``\\n``), a reason as one clean line, so every problem is exactly
one line whatever the file is called and whatever a decoder library said.
"""

from __future__ import annotations

import os
import sys

from photocap.filenames import one_line, readable


def err(msg: str) -> None:
    print(f"photocap: {msg}", file=sys.stderr, flush=True)


def problem(path: str | os.PathLike, reason: str, what: str = "skipped") -> None:
    """``photocap: skipped PATH: reason`` (``what`` says what happened to the file)."""
    err(f"{what} {readable(path)}: {one_line(reason)}")
