"""Package exports imported on first use (PEP 562): ``from photocap.library import Library``
keeps working while a command that only searches never imports what it does not use."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: dict[str, Any], exports: dict[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` (its ``globals()``) that imports each name from the
    module ``exports`` lists it under, once, and keeps it; also sets the package's ``__all__``."""
    where = {name: module for module, names in exports.items() for name in names}
    package["__all__"] = sorted(where)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        package[name] = value
        return value

    return __getattr__
