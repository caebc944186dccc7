"""The `photocap` command. Without a command it opens the app; subcommands work headless.

    photocap                         the app, on the library in your data folder
    photocap ~/Pictures              the app, adding that folder (a file manager's "Open with")
    photocap --library FILE          the app, on another library
    photocap COMMAND ...             caption, index, search, edit, show (no window)

Each subcommand lives in its own module with a ``register(subparsers)`` function, so
commands stay small and the app (Qt) is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from photocap import __version__

# module name -> registers one or more subcommands
_COMMAND_MODULES = (
    "photocap.cli.caption",
    "photocap.cli.library_cmds",
    "photocap.cli.exchange_cmds",
    "photocap.cli.teach_cmds",
    "photocap.cli.meaning_cmds",
)
_TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


def _app_options() -> argparse.ArgumentParser:
    """The app's own options, shared by ``photocap [OPTIONS] [FOLDER...]`` and ``photocap gui``."""
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("--library", metavar="FILE", help="library file to open (default: your data folder)")
    opts.add_argument("--no-captioning", action="store_true", help="do not start captioning automatically")
    opts.add_argument("--theme", choices=("auto", "light", "dark"), help="override the theme setting")
    opts.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to add to the library")
    opts.set_defaults(func=_run_gui)
    return opts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photocap",
        usage="photocap [--library FILE] [FOLDER ...]   (the app)\n"
        "       photocap COMMAND ...                  (no window; photocap COMMAND --help)",
        description="A photo library that describes every photo in words. Without a command it opens "
        "the app; folders given are added to the library.",
    )
    parser.add_argument("--version", action="version", version=f"photocap {__version__}")
    # prog: each command's usage starts "photocap COMMAND", not with the two-line usage above
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="photocap")
    sub.add_parser("gui", parents=[_app_options()], help="open the app (the same as photocap without a command)")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:  # noqa: SLF001 (argparse has no public list of its sub-commands)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001 (idem)
            return list(action.choices)
    return []


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    # argparse has no public list of a parser's sub-commands
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:  # noqa: SLF001
            return action.choices[command]
    return parser


def _parse_app_args(argv: list[str], commands: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="photocap", parents=[_app_options()], description="Open the app (photocap --help lists the commands)."
    )
    args = parser.parse_args(argv)
    for folder in args.folders:
        if os.path.isdir(folder):
            continue
        if folder in commands:
            parser.exit(2, f"photocap: put the command first: photocap {folder} ... [--library FILE]\n")
        if os.path.exists(folder):
            parser.exit(2, f"photocap: {folder} is not a folder (to describe one photo: photocap caption {folder})\n")
        if os.sep not in folder and not folder.startswith("."):
            parser.exit(
                2,
                f"photocap: '{folder}' is neither a command nor a folder "
                f"(commands: {', '.join(commands)}; photocap --help)\n",
            )
        parser.exit(2, f"photocap: no such folder: {folder}\n")
    return args


def _check_system_libraries() -> None:
    from photocap.system_libs import check

    problem = check()
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(1)


def _run_gui(args: argparse.Namespace) -> int:
    _check_system_libraries()  # before the first Qt import
    from photocap.ui.app import main as gui_main

    argv = [sys.argv[0]]
    if args.library:
        argv += ["--library", args.library]
    if args.no_captioning:
        argv.append("--no-captioning")
    if args.theme:
        argv += ["--theme", args.theme]
    return gui_main(argv + [os.path.abspath(f) for f in args.folders])


def _query_words_first(argv: list[str]) -> list[str]:
    try:
        from photocap.cli.library_cmds import query_words_first
    except ModuleNotFoundError:
        return argv
    return query_words_first(argv)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit meets no closed pipe either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's captured stdout)
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that slipped through unescaped: never a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    argv = [a for a in argv if not a.startswith("-psn_")]  # macOS Finder's process serial number
    if argv == ["--version"]:  # without importing the commands (the library, SQLAlchemy)
        print(f"photocap {__version__}")
        return 0
    parser = build_parser()
    commands = _commands(parser)
    if not argv or argv[0] == "gui" or (argv[0] not in commands and argv[0] not in _TOP_LEVEL_OPTIONS):
        args = _parse_app_args(argv[1:] if argv[:1] == ["gui"] else argv, commands)
    else:
        args, extra = parser.parse_known_args(_query_words_first(argv))
        if extra:  # said by the command's own parser: its usage, not the app's two-line one
            _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (photocap search cat | head -1): stop quietly, as cat does
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what the shell reports for a command stopped that way
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
