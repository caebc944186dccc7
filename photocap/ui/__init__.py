"""The desktop app (the only package that imports Qt)."""

from photocap.ui import qtfix as _qtfix

_qtfix.apply()  # PySide6 6.12.0 + Python < 3.12 leak references to None and True (see qtfix)
