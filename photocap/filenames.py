"""File names are bytes: storing them exactly, showing them readably, explaining OS errors.

No heavy imports: the app's views and the CLI use it before the library is loaded.

On POSIX a file name is any bytes but ``/`` and NUL. Python turns bytes that are not
UTF-8 (``caf\\xe9.jpg`` from an old camera, a Windows zip, a Samba share) into lone
surrogates (``'caf\\udce9.jpg'``) so that ``os`` functions still round-trip them; SQLite,
JSON encoders and Qt refuse such strings. So:

* **In the database** paths are stored as the exact bytes (``FsPath`` in
  :mod:`photocap.library.schema`: a BLOB holding ``os.fsencode(path)``; rows read back as
  the same ``str`` the OS gave). Bytes compare like UTF-8 text (memcmp), so the unique
  index and the "everything below a folder" ranges work as before. Free text that may
  quote a path (reasons, names) is written through :func:`unicode_safe` (``SafeText``):
  an undecodable byte becomes U+FFFD instead of failing.
* **On screen** :func:`readable` shows undecodable bytes as U+FFFD and control
  characters (a newline in a name) as escapes, so a name is always one printable line.
  The searchable file and folder names are stored in that form: "caf" finds ``caf\\xe9.jpg``.
* **In JSON** :func:`json_path` gives the readable text and, only when it is not exact,
  the exact bytes in base64 (``"path_base64"``).
* :func:`os_reason` says in photocap's words why the OS refused a file or folder.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import stat

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_exact(text: str) -> bool:
    """``text`` is valid Unicode (no byte that had to be escaped)."""
    return _SURROGATE.search(text) is None


def unicode_safe(text: str) -> str:
    """``text`` with each undecodable byte as U+FFFD: valid for SQLite, JSON and Qt."""
    return text if is_exact(text) else _SURROGATE.sub("\ufffd", text)


def readable(path: str | os.PathLike) -> str:
    """A path as one printable line: U+FFFD for undecodable bytes, escapes for control characters."""
    text = unicode_safe(os.fsdecode(path))
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def one_line(text: str) -> str:
    """A message (an error reason from a library, say) as one clean line."""
    return " ".join(readable(line).strip() for line in str(text).splitlines() if line.strip())


def json_path(path: str | os.PathLike | None, key: str = "path") -> dict[str, str | None]:
    """``{key: text}``, plus ``{key + "_base64": exact bytes}`` when the text cannot be exact."""
    if path is None:
        return {key: None}
    text = os.fsdecode(path)
    if is_exact(text):
        return {key: text}
    return {key: unicode_safe(text), f"{key}_base64": base64.b64encode(os.fsencode(text)).decode("ascii")}


def special_file(mode: int) -> str | None:
    """What a file that is not a regular file or a folder is, or None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


class NotRegularFile(OSError):
    """A name that is a pipe, socket or device (or a folder) where a file was expected."""

    def __init__(self, mode: int):
        self.what = special_file(mode) or "a folder"
        super().__init__(errno.EINVAL, f"{self.what}, not a photo file")


def os_reason(exc: OSError) -> str:
    """Why the OS refused, in photocap's words (one short line)."""
    if isinstance(exc, NotRegularFile):
        return exc.strerror or exc.what
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, FileNotFoundError):
        return "no longer there"
    if code == errno.EIO:
        return "the disk could not read it (input/output error)"
    if code == errno.ENAMETOOLONG:
        return "name too long for this system"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    if code in (errno.ENXIO, errno.ENODEV):
        return "a device, not a file"
    text = (exc.strerror or type(exc).__name__).lower()
    return f"cannot be read: {one_line(text)}"
