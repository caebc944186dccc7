"""Library commands: ``photocap index``, ``search``, ``edit``, ``show``, ``library check|restore``.

They run headless on the same :class:`photocap.library.Library` the app uses. Every
command takes ``--library FILE`` (default: the library in the user's data folder); only
``index`` creates a library that is not there yet. The caption engine (and so torch) is
imported only when captioning is needed: ``photocap index --no-caption`` and the other
commands never load it; ``search`` imports neither Pillow, Alembic nor SQLAlchemy (a library at the newest schema
revision is read with plain sqlite3: :mod:`photocap.library.reader`).

Progress goes to stderr (a live line on a terminal, a line every few seconds
otherwise), and so does each file that could not be read, one line with the reason
(``--quiet`` hides them); results go to stdout, as text or with ``--json``. File names
are printed readable (:func:`photocap.library.filenames.readable`); in JSON a name that
is not valid UTF-8 also comes as exact bytes (``path_base64``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import queue
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from photocap.cli.report import err as _err
from photocap.cli.report import problem as _problem
from photocap.filenames import json_path, one_line, readable, unicode_safe
from photocap.library.db import LibraryCorrupt, LibraryError, find_backups, restore_backup
from photocap.text import format_duration

if TYPE_CHECKING:
    from photocap.engine import CaptionEngine


def library_option() -> argparse.ArgumentParser:
    """The ``--library FILE`` option every library command takes (a parent parser)."""
    lib_opt = argparse.ArgumentParser(add_help=False)
    lib_opt.add_argument("--library", metavar="FILE", help="library file (default: the one in your data folder)")
    return lib_opt


def register(sub: argparse._SubParsersAction) -> None:
    lib_opt = library_option()

    p = sub.add_parser(
        "index",
        parents=[lib_opt],
        help="add folders to the library, scan them and caption new photos",
        description="Add FOLDERs to the library, scan them (only new or changed files are read), "
        "caption the photos that need it, and with --watch keep following changes until Ctrl+C. "
        "Without FOLDERs: the library's folders (after switching models, this describes the "
        "automatic captions again).",
    )
    p.add_argument("folders", nargs="*", metavar="FOLDER")
    p.add_argument("--watch", action="store_true", help="keep indexing changes until Ctrl+C")
    p.add_argument("--no-caption", action="store_true", help="only scan; do not load the caption model")
    p.add_argument(
        "--polling", action="store_true", help="watch by polling (network folders); remembered for these folders"
    )
    p.add_argument("--quiet", action="store_true", help="do not list the files that could not be read")
    p.add_argument(
        "--model",
        metavar="FILE",
        help="caption model file (default: the library's active model, else tags from the bundled encoder)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--batch-size", type=int, default=16, metavar="N")
    p.add_argument("--beam", type=int, default=3, metavar="K")
    p.add_argument(
        "--debounce",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="with --watch: quiet time before a changed file is read (default 1.5)",
    )
    p.set_defaults(func=run_index)

    p = sub.add_parser(
        "search",
        parents=[lib_opt],
        help="find photos by description",
        description='Words must all match (stemmed); "quoted phrases", prefix*, -exclusion, a OR b. '
        "A word starting with - excludes it (photocap search -boat dog), also as the first word.",
    )
    p.add_argument("query", nargs="+", metavar="QUERY")
    global _search_parser
    _search_parser = p
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--folder", metavar="FOLDER", help="only photos below this folder")
    p.add_argument(
        "--from", dest="taken_from", type=_dt.date.fromisoformat, metavar="YYYY-MM-DD", help="taken on or after"
    )
    p.add_argument(
        "--to", dest="taken_to", type=_dt.date.fromisoformat, metavar="YYYY-MM-DD", help="taken on or before"
    )
    p.add_argument(
        "--source",
        action="append",
        choices=("user", "model", "tags", "imported", "none"),
        help="caption source (repeatable); 'user' = edited by me",
    )
    p.add_argument("--needs-review", action="store_true", help="only automatic captions nobody has checked")
    p.add_argument("--missing", action="store_true", help="include photos whose file is missing")
    p.add_argument(
        "--words-only",
        action="store_true",
        help="match the words only (by default photos are found by meaning too, once described)",
    )
    p.set_defaults(func=run_search)

    p = sub.add_parser(
        "edit",
        parents=[lib_opt],
        help="write your own caption for a photo",
        description="Your caption is never replaced by an automatic one.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("caption", metavar="CAPTION")
    p.set_defaults(func=run_edit)

    p = sub.add_parser("show", parents=[lib_opt], help="a photo's caption, source, history and tags")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_show)

    p = sub.add_parser(
        "library",
        help="check the library file for damage, or restore it from a backup",
        description="check: a full integrity check of the library file and its search index. "
        "restore: put a backup in place of the library (the current file is kept aside, "
        "never deleted).",
    )
    lsub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    c = lsub.add_parser("check", parents=[lib_opt], help="check the library file and list its backups")
    c.set_defaults(func=run_library_check)
    r = lsub.add_parser("restore", parents=[lib_opt], help="restore the library from a backup (default: the newest)")
    r.add_argument("backup", nargs="?", metavar="BACKUP", help="backup file (see: photocap library check)")
    r.set_defaults(func=run_library_restore)


_search_parser: argparse.ArgumentParser | None = None


def query_words_first(argv: list[str]) -> list[str]:
    """``search`` arguments reordered as options, ``--``, query words, so that an exclusion
    (``-boat``) is a word of the query wherever it is, never an unknown option. Anything
    that is not one of search's options (or an option's value) is a query word."""
    if _search_parser is None or not argv or argv[0] != "search":
        return argv
    known = _search_parser._option_string_actions  # noqa: SLF001 (option string -> action: argparse has no public map)
    options: list[str] = []
    words: list[str] = []
    rest = iter(argv[1:])
    for arg in rest:
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if arg == "--":
            words.extend(rest)
        elif name in known:
            options.append(arg)
            value = next(rest, None) if known[name].nargs != 0 and name == arg else None  # "--limit 5"
            if value is not None:
                options.append(value)
        else:
            words.append(arg)
    return [argv[0], *options, "--", *words]


def _open(args, create: bool = False, check: bool = True):
    """The library, or None after saying why not (one line; a damaged one says how to restore).

    ``check=False`` (search, show: reads) skips the whole-file ``quick_check`` (0.3 CPU-s at
    100,000 photos); damage a read meets is still reported, as the same one line."""
    from photocap.library.library import open_library  # SQLAlchemy: only when a library is opened (not to search)

    try:
        return open_library(args.library, create=create, check=check)
    except LibraryError as exc:
        _err(describe_error(exc))
    return None


def describe_error(exc: LibraryError) -> str:
    """A library error as one line for the command line (a damaged library: how to restore)."""
    text = one_line(str(exc))
    if isinstance(exc, LibraryCorrupt) and exc.backups:
        return f"{text} Run: photocap library restore"
    return text


class _Progress:
    """One status line on stderr: rewritten in place on a terminal, every few seconds otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        if self.tty:
            print(f"\r\x1b[K{text}", end="", file=sys.stderr, flush=True)
            self.shown = True
        else:
            print(text, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)
            self.shown = False

    def problem(self, path: str, reason: str, what: str = "skipped") -> None:
        """One file that could not be used, on its own line (the live line is redrawn later)."""
        if self.shown:
            print("\r\x1b[K", end="", file=sys.stderr)
            self.shown = False
        _problem(path, reason, what)


# ---- index ---------------------------------------------------------------------------------
class _NoModel(Exception):
    pass


class _Captioner:
    """Loads the engine on first use, then captions whatever the library says needs it."""

    def __init__(self, args, lib):
        self.args, self.lib, self.engine = args, lib, None
        self.quiet = getattr(args, "quiet", False)
        self.captioned = self.failed = 0

    def _load(self) -> CaptionEngine:
        from photocap.engine import CaptionEngine  # torch: only now

        model = self.args.model
        if model is None and (active := self.lib.active_model()) is not None and active.path:
            model = active.path
        try:
            self.engine = CaptionEngine.create(
                model, device=self.args.device, beam=self.args.beam, batch_size=self.args.batch_size
            )
        except Exception as exc:
            raise _NoModel(f"cannot load the caption model {model or '(tagger)'}: {exc}") from exc
        return self.engine

    def run(self, progress: _Progress) -> None:
        """One caption pass (:mod:`photocap.caption_pass`) over whatever needs it, shown on ``progress``."""
        from photocap.caption_pass import caption_pass
        from photocap.progress import RateMeter

        engine = self.engine if self.engine is not None else self._load()
        last = None
        speed = RateMeter()  # the whole run's average, from the first photo on
        for p in caption_pass(engine, self.lib, chunk=max(64, 4 * engine.batch_size), speed=speed):
            for landed in p.landed:
                if landed.error is not None:
                    self.failed += 1
                    if not self.quiet:
                        progress.problem(landed.path, landed.error, "could not describe")
                elif not landed.kept_user_caption:
                    self.captioned += 1
            progress.show(_caption_line(p), force=p.done + p.failed == p.total)
            last = p
        if last is not None:
            if last.done + last.failed != last.total:  # more arrived meanwhile: the last figures, once
                progress.show(_caption_line(last), force=True)
            progress.done()


def _caption_line(p) -> str:
    """'captioning 120/400  8.1 photos/s  ETA 0:35'"""
    return (
        f"captioning {p.done + p.failed}/{p.total}"
        + (f"  {p.rate:.1f} photos/s" if p.rate > 0 else "")
        + (f"  ETA {format_duration(p.eta_s)}" if p.eta_s is not None else "")
    )


def _embed_words(lib, progress: _Progress) -> None:
    """Sentence vectors for photos whose words are new or changed (search by meaning)."""
    from photocap.meaning import embed_pending
    from photocap.model.sentence import MODEL_ID, SentenceEmbedder, SentenceModelError

    if not lib.count_needing_vectors(MODEL_ID):
        return
    try:
        embedder = SentenceEmbedder.load()
    except SentenceModelError as exc:
        _err(f"photos will be found by their words only: {exc}")
        return
    for done, waiting in embed_pending(lib, embedder, chunk=64):
        progress.show(f"indexing meaning {done}/{done + waiting}", force=not waiting)
    progress.done()


def run_index(args: argparse.Namespace) -> int:
    from photocap.ingest import scan  # where it is used: a search never imports the scanner

    lib = _open(args, create=True)
    if lib is None:
        return 2
    progress = _Progress()
    captioner = None if args.no_caption else _Captioner(args, lib)
    status = 0
    roots = []
    try:
        for folder in args.folders or [f.path for f in lib.folders() if f.status == "ok"]:
            if not os.path.isdir(folder):  # the same words as the app's
                if os.path.exists(folder):
                    name = readable(folder)
                    _err(f"{name} is not a folder (to describe one photo: photocap caption {name})")
                else:
                    _err(f"no such folder: {readable(folder)}")
                status = 1
                continue
            info = lib.add_folder(folder, polling=args.polling)
            roots.append(info.path)
            # by path: the folder itself even if it sits in (or was merged into) a watched folder
            report = scan(
                lib,
                folder,
                progress=lambda p: progress.show(
                    f"scanning {p.folder}: {p.seen} photos listed, {p.read}/{p.to_read} read"
                ),
            )
            progress.done()
            _list_problems(args, progress, report)
            print(
                f"{readable(report.folder)}: {report.seen} photos ({report.added} new, {report.updated} changed, "
                f"{report.moved} moved, {report.restored} back, {report.missing} missing, "
                f"{report.unreadable} unreadable) in {report.seconds:.1f} s"
            )
        if captioner is not None:
            captioner.run(progress)
            _embed_words(lib, progress)
        if args.watch and roots:
            _watch(args, lib, roots, captioner, progress)
    except _NoModel as exc:
        progress.done()
        _err(f"{one_line(str(exc))} (the scan results are saved; run again with --model FILE or --no-caption)")
        status = 2
    except LibraryError as exc:  # a full disk, a read-only library, damage found while working
        progress.done()
        _err(describe_error(exc))
        status = 2
    except KeyboardInterrupt:
        progress.done()
        _err("interrupted")
        status = status or 130 if not args.watch else status
    finally:
        if captioner is not None and (captioner.captioned or captioner.failed):
            print(f"captioned {captioner.captioned} photos, {captioner.failed} could not be read")
        lib.close()
    return status


def _list_problems(args, progress: _Progress, report) -> None:
    """Each file a scan could not use, with the reason (unless ``--quiet``)."""
    if args.quiet:
        return
    for p in report.skipped:
        progress.problem(p.path, p.reason)
    for p in report.errors:
        progress.problem(p.path, p.reason, "cannot read")


def _watch(args, lib, roots, captioner, progress) -> None:
    from photocap.ingest import FolderWatcher, apply_changes

    batches: queue.Queue = queue.Queue()
    polling = [f.path for f in lib.folders() if f.polling and f.path in roots]
    with FolderWatcher(
        roots, batches.put, debounce=args.debounce, polling_roots=polling, force_polling=args.polling
    ) as watcher:
        for root, mode in watcher.modes.items():
            print(f"watching {readable(root)} ({mode}); Ctrl+C to stop", file=sys.stderr, flush=True)
        while True:
            try:
                batch = batches.get(timeout=0.5)
            except queue.Empty:
                continue
            report = apply_changes(lib, batch)
            _list_problems(args, progress, report)
            print(
                f"changes: {report.added} new, {report.updated} changed, {report.moved} moved, "
                f"{report.restored} back, {report.missing} missing",
                flush=True,
            )
            if captioner is not None:
                captioner.run(progress)
                _embed_words(lib, progress)


# ---- search, edit, show ----------------------------------------------------------------------
def run_search(args: argparse.Namespace) -> int:
    from photocap.library.fts import parse_query
    from photocap.library.reader import open_reader
    from photocap.library.search import PhotoFilter, SearchError

    try:  # plain sqlite3, no SQLAlchemy to import (see photocap.library.reader); else the usual way
        lib = open_reader(args.library) or _open(args, check=False)
    except LibraryError as exc:
        _err(describe_error(exc))
        return 2
    if lib is None:
        return 2
    query = " ".join(args.query)
    with lib:
        filters = PhotoFilter(
            folder=args.folder,
            taken_from=args.taken_from,
            taken_to=args.taken_to,
            sources=tuple(args.source) if args.source else None,
            needs_review=True if args.needs_review else None,
            include_missing=args.missing,
        )
        vector, model_id = (None, None) if args.words_only else _query_vector(lib, query)
        try:
            hits = lib.search(query, filters, limit=args.limit, query_vector=vector, vector_model=model_id)
        except SearchError as exc:
            _err(str(exc))
            return 2
    for note in parse_query(query).notes:
        _err(f"note: {note}")
    if args.json:
        print(json.dumps([asdict(h) | json_path(h.path) for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        _err("no photos found")
        return 1
    for h in hits:
        print(readable(h.path))
        print(f"    {h.caption or '(no caption)'}")
        if h.snippet and h.snippet.replace("[", "").replace("]", "") != h.caption:  # not the caption again
            print(f"    … {h.snippet}")
    return 0


def _query_vector(lib, query: str):
    """The query's sentence vector when the library has vectors to compare it with (the sentence
    model, and numpy, load only then)."""
    if not lib.has_text_vectors():
        return None, None
    from photocap.model.sentence import MODEL_ID

    if not lib.has_text_vectors(MODEL_ID):
        return None, None
    from photocap.meaning import embed_query
    from photocap.model.sentence import SentenceEmbedder, SentenceModelError

    try:
        return embed_query(SentenceEmbedder.load(), query), MODEL_ID
    except SentenceModelError as exc:
        _err(f"searching by words only: {exc}")
        return None, None


def _on_photo(args: argparse.Namespace, action, check: bool = True) -> int:
    """Open the library, find ``args.path`` in it and run ``action(lib, photo)``; or say why not."""
    lib = _open(args, check=check)
    if lib is None:
        return 2
    with lib:
        photo = lib.photo_by_path(args.path)
        if photo is None:
            if os.path.isdir(args.path):
                _err(f"{readable(args.path)} is a folder: name one photo in it")
            else:
                _err(f"{readable(args.path)} is not in the library (add its folder with: photocap index FOLDER)")
            return 1
        return action(lib, photo)


def run_edit(args: argparse.Namespace) -> int:
    def edit(lib, photo) -> int:
        if not args.caption.strip():
            _err("the caption is empty")
            return 1
        problem = lib.set_user_caption(photo.id, args.caption)
        print(f"{readable(photo.path)}: {' '.join(unicode_safe(args.caption).split())}")
        if problem:
            _err(one_line(problem))
        if lib.has_text_vectors():  # a library searched by meaning: the new words get their vector now
            _embed_words(lib, _Progress())
        return 0

    return _on_photo(args, edit)


def run_show(args: argparse.Namespace) -> int:
    return _on_photo(args, lambda lib, photo: _show(args, lib.photo_detail(photo.id)), check=False)


def _show(args: argparse.Namespace, detail) -> int:
    if args.json:
        data = asdict(detail) | json_path(detail.path) | json_path(detail.folder, "folder")
        data["needs_review"] = detail.needs_review
        data["caption_confidence"] = detail.caption_confidence
        print(json.dumps(data, ensure_ascii=False, indent=1, default=str))
        return 0
    review = " (needs review)" if detail.needs_review else ""
    print(readable(detail.path))
    print(f"  status:  {detail.status}" + (f": {detail.error}" if detail.error else ""))
    print(f"  caption: {detail.caption or '(none yet)'}")
    if detail.caption_source:
        model = f", model {detail.caption_model}" if detail.caption_model else ""
        sure = f", {detail.caption_confidence:.0%} sure" if detail.caption_confidence is not None else ""
        print(f"  source:  {detail.caption_source}{model}{sure}{review}")
    if detail.tags:
        print("  tags:    " + ", ".join(f"{label} {prob:.2f}" for label, prob in detail.tags))
    meta = [
        f"{detail.width}x{detail.height}" if detail.width else None,
        detail.format,
        f"taken {detail.taken_at:%Y-%m-%d %H:%M}" if detail.taken_at else None,
        detail.camera,
    ]
    if any(meta):  # nothing is known of a file that could not be read
        print("  photo:   " + ", ".join(m for m in meta if m))
    if len(detail.history) > 1:
        print("  history:")
        for rec in reversed(detail.history):
            print(f"    {rec.created_at:%Y-%m-%d %H:%M} {rec.source:<8} {rec.text}")
    return 0


# ---- library check, restore ------------------------------------------------------------------
def _library_path(args: argparse.Namespace):
    from pathlib import Path

    from photocap import paths

    return Path(os.path.abspath(args.library)) if args.library else paths.default_library_path()


def _print_backups(backups) -> None:
    if not backups:
        print("no backups found")
    for b in backups:
        print(f"backup  {b.label}  ({b.kind})  {b.path}")


def run_library_check(args: argparse.Namespace) -> int:
    from photocap.library.library import open_library

    path = _library_path(args)
    try:
        lib = open_library(path, create=False, check=False)
    except LibraryCorrupt as exc:
        print(f"{path}: damaged")
        for problem in exc.problems:
            print(f"  {problem}")
        _print_backups(exc.backups)
        return 1
    except LibraryError as exc:
        _err(str(exc))
        return 2
    with lib:
        problems = lib.check_integrity()
    if problems:
        print(f"{path}: damaged")
        for problem in problems:
            print(f"  {problem}")
    else:
        print(f"{path}: ok" + (" (read-only: no backup made)" if lib.read_only else ""))
    _print_backups(find_backups(path))
    return 1 if problems else 0


def run_library_restore(args: argparse.Namespace) -> int:
    path = _library_path(args)
    backups = find_backups(path)
    chosen = args.backup or (backups[0].path if backups else None)
    if chosen is None:
        _err(f"no backup of {path} was found (backups are made before upgrades and after each weekly check)")
        return 2
    if not os.path.isfile(chosen):
        _err(f"{chosen}: no such backup file")
        return 2
    aside = restore_backup(path, chosen)
    print(f"{path}: restored from {chosen}")
    if aside.exists():
        print(f"the file it replaced is kept as {aside}")
    return 0
