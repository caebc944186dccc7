"""The app's settings, saved between runs with QSettings (org/app names set once in app.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QSettings

from photocap.cache_limit import DEFAULT_LIMIT_MB, MIN_LIMIT_MB
from photocap.paths import default_library_path

DEVICES = ("auto", "cpu", "cuda", "mps")
THUMB_SIZES = (128, 160, 192, 224, 256)


@dataclass
class AppSettings:
    device: str = "auto"
    beam: int = 3
    max_len: int = 20
    thumb_size: int = 192
    library_path: str = ""  # empty: the default file in the data folder
    theme: str = "auto"  # auto / light / dark
    cache_limit_mb: int = DEFAULT_LIMIT_MB  # thumbnails and feature caches together (photocap.cache_limit)

    def effective_library_path(self) -> str:
        return self.library_path or str(default_library_path())

    # ---- persistence ---------------------------------------------------------------------
    @classmethod
    def load(cls, store: QSettings | None = None) -> AppSettings:
        store = store or QSettings()
        out = cls()
        for f in fields(cls):
            raw = store.value(f"settings/{f.name}")
            if raw is None:
                continue
            try:
                value = type(getattr(out, f.name))(raw)
            except (TypeError, ValueError):
                continue
            setattr(out, f.name, value)
        out.device = out.device if out.device in DEVICES else "auto"
        out.beam = min(10, max(1, out.beam))
        out.max_len = min(50, max(5, out.max_len))
        out.thumb_size = min(THUMB_SIZES, key=lambda s: abs(s - out.thumb_size))
        out.cache_limit_mb = max(MIN_LIMIT_MB, out.cache_limit_mb)
        return out

    def save(self, store: QSettings | None = None) -> None:
        store = store or QSettings()
        for f in fields(self):
            store.setValue(f"settings/{f.name}", getattr(self, f.name))
        store.sync()

    def model_settings(self) -> tuple[str, int, int]:
        """What the caption engine depends on: a change here reloads it."""
        return self.device, self.beam, self.max_len
