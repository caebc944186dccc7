"""The store and ingest as packages: their lazy exports resolve, and using the store loads no ingest."""

from __future__ import annotations

import subprocess
import sys

import pytest

import photocap.ingest
import photocap.library


@pytest.mark.parametrize("package", [photocap.library, photocap.ingest])
def test_every_lazy_export_resolves_to_what_its_module_defines(package):
    assert package.__all__
    for name in package.__all__:
        value = getattr(package, name)
        if callable(value):  # classes and functions (the rest are constants: SOURCES, SOURCE_USER, ...)
            assert value.__name__ == name and value.__module__.startswith(package.__name__ + ".")


def test_opening_editing_and_searching_a_library_loads_no_ingest(tmp_path):
    """The store works without ingest (the contract says it never imports it; this is the run-time side)."""
    code = (
        "import sys\n"
        "from photocap.library import open_library\n"
        "with open_library(sys.argv[1]) as lib:\n"
        "    lib.add_folder(sys.argv[2]); lib.search('dog'); lib.folders(); lib.problems()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('photocap.ingest', 'watchdog'))))\n"
    )
    (tmp_path / "photos").mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "lib.sqlite"), str(tmp_path / "photos")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
