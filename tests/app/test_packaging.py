"""The installed package finds its data files without the working directory."""

import os
import subprocess
import sys

from photocap.paths import resource_path


def test_resources_and_migrations_are_package_data(tmp_path):
    assert resource_path("style.qss").is_file()
    assert resource_path("icons", "search.svg").is_file()
    assert resource_path("imagenet_labels.json").is_file()
    # From another working directory, in a fresh interpreter:
    code = (
        "from photocap.paths import resource_path; from photocap.library.db import MIGRATIONS_DIR; "
        "assert resource_path('style.qss').is_file(); assert (MIGRATIONS_DIR / 'env.py').is_file(); print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
