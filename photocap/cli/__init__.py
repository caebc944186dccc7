"""The `photocap` command. With no arguments it opens the app; subcommands work headless.

Each subcommand lives in its own module with a ``register(subparsers)`` function, so
commands stay small and the app (Qt) is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from photocap import __version__

# module name -> registers one or more subcommands
_COMMAND_MODULES = ("photocap.cli.caption", "photocap.cli.library_cmds", "photocap.cli.exchange_cmds",
                    "photocap.cli.teach_cmds", "photocap.cli.meaning_cmds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photocap",
        description="A photo library that describes every photo in words. "
        "Run without arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"photocap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the app (the same as running photocap with no arguments)")
    gui.add_argument("--library", metavar="FILE", help="library file to open (default: your data folder)")
    gui.set_defaults(func=_run_gui)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command family not built yet
        module.register(sub)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from photocap.ui.app import main as gui_main

    argv = [sys.argv[0]]
    if getattr(args, "library", None):
        argv += ["--library", args.library]
    return gui_main(argv)


def _query_words_first(argv: list[str]) -> list[str]:
    try:
        from photocap.cli.library_cmds import query_words_first
    except ModuleNotFoundError:
        return argv
    return query_words_first(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that slipped through unescaped: never a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    parser = build_parser()
    if not argv:
        return _run_gui(argparse.Namespace(library=None))
    args = parser.parse_args(_query_words_first(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        db = sys.modules.get("photocap.library.db")  # not imported for commands that need no library
        if db is not None and isinstance(exc, db.LibraryError):  # a full disk, a read-only or damaged library
            from photocap.cli.library_cmds import describe_error

            print(f"photocap: {describe_error(exc)}", file=sys.stderr)
            return 2
        raise
