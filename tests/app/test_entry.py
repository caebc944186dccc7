"""The `photocap` command's entry: what opens the app, what runs a command, what is refused."""

from __future__ import annotations

import os

import pytest

import photocap.cli as cli
from photocap import __version__


@pytest.fixture
def app_calls(monkeypatch):
    """Record what the app would be started with, instead of starting it."""
    import photocap.ui.app

    calls: list[list[str]] = []
    monkeypatch.setattr(photocap.ui.app, "main", lambda argv: calls.append(argv) or 0)
    return calls


def test_no_arguments_opens_the_app(app_calls):
    assert cli.main([]) == 0
    assert app_calls == [[app_calls[0][0]]]


def test_library_option_opens_the_app_on_that_library(app_calls, tmp_path):
    lib = str(tmp_path / "other.sqlite")
    assert cli.main(["--library", lib]) == 0
    assert app_calls[0][1:] == ["--library", lib]


def test_a_folder_opens_the_app_and_adds_it_with_an_absolute_path(app_calls, tmp_path, monkeypatch):
    (tmp_path / "Pictures").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["Pictures", "--no-captioning"]) == 0
    assert app_calls[0][1:] == ["--no-captioning", os.path.join(str(tmp_path), "Pictures")]


def test_gui_command_takes_the_same_options(app_calls, tmp_path):
    assert cli.main(["gui", "--library", "x.sqlite", "--theme", "dark", str(tmp_path)]) == 0
    assert app_calls[0][1:] == ["--library", "x.sqlite", "--theme", "dark", str(tmp_path)]


def test_finder_process_serial_number_is_ignored(app_calls):
    assert cli.main(["-psn_0_123456"]) == 0
    assert app_calls[0][1:] == []


@pytest.mark.parametrize(
    "argv, says",
    [
        (["captoin", "x.jpg"], "'captoin' is neither a command nor a folder"),
        (["/no/such/folder"], "no such folder: /no/such/folder"),
        (["--library", "x.sqlite", "caption", "p.jpg"], "put the command first: photocap caption"),
    ],
)
def test_what_is_neither_command_nor_folder_is_refused_in_one_line(argv, says, app_calls, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err
    assert app_calls == []


def test_a_photo_instead_of_a_folder_points_to_caption(tmp_path, app_calls, capsys):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(b"\xff\xd8")
    with pytest.raises(SystemExit):
        cli.main([str(photo)])
    assert f"photocap caption {photo}" in capsys.readouterr().err
    assert app_calls == []


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_app_usage_and_the_commands(flag, capsys, app_calls):
    with pytest.raises(SystemExit) as exit_:
        cli.main([flag])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "photocap [--library FILE] [FOLDER ...]" in out
    assert "caption" in out and "search" in out
    assert app_calls == []


@pytest.mark.parametrize("command", ["caption", "index", "search", "library", "similar"])
def test_a_commands_help_names_the_command(command, capsys, app_calls):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith(f"usage: photocap {command} ")
    assert "(the app)" not in usage


@pytest.mark.parametrize("command, needs", [("search", "QUERY"), ("library", "ACTION"), ("similar", "PHOTO")])
def test_a_command_missing_an_argument_says_which_command(command, needs, capsys, app_calls):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"photocap {command}: error: the following arguments are required: {needs}" in err
    assert "(the app)" not in err


@pytest.mark.parametrize(
    "argv", [["index", "--no-such-option"], ["export", "--source", "user", "imported"], ["library", "check", "-x"]]
)
def test_an_unknown_argument_is_refused_with_the_commands_usage(argv, capsys, app_calls):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: photocap {argv[0]} ")
    assert f"photocap {argv[0]}: error: unrecognized arguments: {argv[-1]}" in err
    assert "(the app)" not in err


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"photocap {__version__}"


def test_commands_still_reach_their_subcommand(monkeypatch, app_calls):
    seen = {}
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices["show"].set_defaults(func=lambda args: seen.setdefault("path", args.path) and 0)
    assert cli.main(["show", "p.jpg"]) == 0
    assert seen == {"path": "p.jpg"}
    assert app_calls == []


def test_missing_system_libraries_stop_before_the_app_starts(monkeypatch, app_calls, capsys):
    import photocap.system_libs as system_libs

    monkeypatch.setattr(system_libs, "check", lambda: "photocap: the window cannot open: ...")
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    assert exit_.value.code == 1
    assert "the window cannot open" in capsys.readouterr().err
    assert app_calls == []
