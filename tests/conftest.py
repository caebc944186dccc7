"""Shared test set-up: keep every test away from the real user's data folder."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """photocap.paths.data_dir() points into a temporary folder for every test."""
    monkeypatch.setenv("PHOTOCAP_DATA_DIR", str(tmp_path_factory.mktemp("photocap-data")))
