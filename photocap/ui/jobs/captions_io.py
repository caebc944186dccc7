"""Jobs for captions in and out of the library (File menu) and the library's own settings.

Each runs on a lane (the ``files`` lane for exports and imports, which touch many files) and
returns a sentence for the status bar; none touches a widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from photocap.library.exchange import read_rows, write_file, write_sidecars
from photocap.library.values import SETTING_DEFAULTS
from photocap.ui.jobs.lanes import JobContext

if TYPE_CHECKING:
    from photocap.library.library import Library


def export_captions(
    ctx: JobContext, library: Library, path: str | None, fmt: str, sources: Sequence[str] = ("user", "imported")
) -> str:
    rows = library.export_captions(sources)
    if fmt == "xmp":
        written, problems = write_sidecars(rows)
        return f"{written} XMP sidecar(s) written" + (
            f"; {len(problems)} could not be: {problems[0]}" if problems else ""
        )
    if path is None:
        return f"Export failed: no file was chosen to write the {fmt.upper()} to"
    try:
        n = write_file(rows, path, fmt)
    except OSError as exc:
        return f"Export failed: could not write {path}: {exc.strerror or exc}"
    return f"{n} caption(s) exported to {path}"


def import_captions(ctx: JobContext, library: Library, path: str) -> str:
    try:
        rows = read_rows(path)
    except (OSError, ValueError) as exc:
        return f"Import failed: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
    return library.import_captions(rows).summary()


def read_library_settings(ctx: JobContext, library: Library) -> dict[str, bool]:
    return {key: library.get_setting(key) for key in SETTING_DEFAULTS}


def write_library_settings(ctx: JobContext, library: Library, values: dict[str, bool]) -> None:
    for key, value in values.items():
        library.set_setting(key, value)
