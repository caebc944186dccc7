"""The hostile-input suite: photocap's commands and window against everything that can go wrong.

Commands run as real subprocesses (``python -m photocap``), so what is checked is what a
user sees: exit status, one line per problem, valid UTF-8 and JSON, no traceback, no
hang. When the tests run as root, the subprocess drops root's permission override
(CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, through ``prctl``) so unreadable files and
folders are unreadable to it, as they would be to a user.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.corpus import Corpus, build, unlock
from tests.library.conftest import integrity_problems as integrity  # noqa: F401 - used by the suite
from tests.ui.conftest import _isolated_settings, app, assert_stopped, library_file, make_window  # noqa: F401

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_permission_override() -> None:  # in the child, before exec
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _can_be_unprivileged() -> bool:
    try:
        return subprocess.run(["true"], preexec_fn=_drop_permission_override).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


UNPRIVILEGED = os.geteuid() != 0 or _can_be_unprivileged()
# in this (test) process, unreadable files are unreadable only when it is not root
IN_PROCESS_UNPRIVILEGED = os.geteuid() != 0


@dataclass
class Run:
    args: list[str]
    rc: int
    out: bytes
    err: bytes

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8")  # strict: photocap writes valid UTF-8, whatever the file names

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8")

    def assert_clean(self) -> None:
        text = self.stdout + self.stderr
        assert "Traceback" not in text, text[-3000:]
        for line in filter(str.strip, self.stderr.splitlines()):
            assert line.startswith(
                ("photocap: ", "scanning ", "captioning ", "indexing meaning ", "watching ", "\r")
            ), f"a stray stderr line: {line!r}"


def photocap(*args: str | os.PathLike, data_dir: Path, timeout: float = 300, unprivileged: bool = True) -> Run:
    """Run ``python -m photocap ARGS`` (as a user would); fail the test on a hang."""
    argv = [sys.executable, "-m", "photocap", *map(os.fsdecode, args)]
    env = os.environ | {"PHOTOCAP_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            env=env,
            preexec_fn=_drop_permission_override if unprivileged else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"photocap {' '.join(argv[3:])} hung for {timeout} s; stderr: {exc.stderr!r}") from exc
    return Run(argv[3:], done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("hostile") / "Pictures"
    made = build(root)
    yield made
    unlock(root)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d
