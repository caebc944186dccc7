"""``photocap export`` and ``photocap import``: the library's captions as CSV, JSON or XMP sidecars.

Exports hold the user's own and imported captions by default (``--source`` to choose);
an import matches each row by path, then by content identity, so a library moved to
another disk, or a second library of the same photos, gets the same captions. The rules
that protect the user's words hold: an import never replaces a different user caption.
"""

from __future__ import annotations

import argparse
import sys

from photocap.cli.library_cmds import library_option
from photocap.cli.report import problem
from photocap.filenames import os_reason
from photocap.library import LibraryError
from photocap.library.values import EXPORT_FORMATS as FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    lib_opt = library_option()

    p = sub.add_parser(
        "export",
        parents=[lib_opt],
        help="write the library's captions to CSV, JSON or XMP sidecars",
        description="Write captions out: --format csv or json to a file (or standard output), "
        "or xmp to each photo's XMP sidecar (photo.jpg.xmp, merged with what is there).",
    )
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument(
        "--source",
        action="append",
        choices=("user", "imported", "model", "tags"),
        help="which captions (repeatable; default: user and imported)",
    )
    p.add_argument("--out", metavar="FILE", help="file to write (csv/json; default: standard output)")
    p.set_defaults(func=run_export)

    p = sub.add_parser(
        "import",
        parents=[lib_opt],
        help="read captions from a photocap CSV or JSON export",
        description="Read captions exported by photocap (CSV or JSON). Rows match photos by path, "
        "then by content identity; a different caption you wrote here is never replaced.",
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from photocap.library.exchange import write_csv, write_file, write_json, write_sidecars
    from photocap.library.library import open_library  # SQLAlchemy: only for this command

    sources = tuple(args.source or ("user", "imported"))
    try:
        with open_library(args.library) as lib:
            rows = lib.export_captions(sources)
    except LibraryError as exc:
        print(f"photocap: {exc}", file=sys.stderr)
        return 1
    if args.format == "xmp":
        written, problems = write_sidecars(rows)
        for line in problems:
            print(f"  not written: {line}", file=sys.stderr)
        print(f"{written} sidecar(s) written" + (f", {len(problems)} not written" if problems else ""))
        return 1 if problems and not written else 0
    if args.out:
        try:
            n = write_file(rows, args.out, args.format)
        except OSError as exc:
            print(f"photocap: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{n} caption(s) written to {args.out}", file=sys.stderr)
    else:
        (write_csv if args.format == "csv" else write_json)(rows, sys.stdout)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from photocap.library.exchange import read_rows
    from photocap.library.library import open_library

    try:
        rows = read_rows(args.file)
    except OSError as exc:  # a name the user just typed: "no such file", not "no longer there"
        problem(args.file, "no such file" if isinstance(exc, FileNotFoundError) else os_reason(exc), "cannot read")
        return 1
    except ValueError as exc:
        print(f"photocap: {exc}", file=sys.stderr)
        return 1
    try:
        with open_library(args.library) as lib:
            report = lib.import_captions(rows)
    except LibraryError as exc:
        print(f"photocap: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    for path in report.conflicts:
        print(f"  kept yours: {path}", file=sys.stderr)
    for line in report.bad_rows:
        print(f"  skipped {line}", file=sys.stderr)
    return 0
