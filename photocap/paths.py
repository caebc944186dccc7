"""Where photocap keeps the user's data (platformdirs), and where its bundled resources are."""

from __future__ import annotations

import os
import sys
from importlib import resources as _resources
from pathlib import Path

import platformdirs

from photocap import APP_NAME

_ENV_DATA = "PHOTOCAP_DATA_DIR"  # tests and portable installs point everything elsewhere


def data_dir() -> Path:
    """The per-user data directory (library, models, thumbnails); created on first use."""
    override = os.environ.get(_ENV_DATA)
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_library_path() -> Path:
    return data_dir() / "library.sqlite"


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Disposable data (thumbnails, feature caches): safe to delete at any time."""
    override = os.environ.get(_ENV_DATA)
    base = Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    base.mkdir(parents=True, exist_ok=True)
    return base


def resource_path(*parts: str) -> Path:
    """A file shipped in ``resources/``: works from a checkout, a wheel and a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidate = Path(bundle, "photocap", "resources", *parts)
        if candidate.exists():
            return candidate
    # a checkout next to this package first: an editable install of another checkout (or
    # worktree) maps ``photocap.resources`` to *its* resources/, which may lack a new file
    checkout = Path(__file__).resolve().parents[1] / "resources"
    if (checkout / "__init__.py").is_file() and checkout.joinpath(*parts).exists():
        return checkout.joinpath(*parts)
    return Path(str(_resources.files("photocap.resources").joinpath(*parts)))
