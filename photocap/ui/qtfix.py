"""Work-around for PySide6 6.12.0 reference-count bugs that crash the app on Python < 3.12.

Measured here (PySide6 6.12.0, Python 3.11.7; 6.11.3 does not do it):

* every ``SignalInstance.emit()`` made from Python returns ``True`` without taking a
  reference to it: ``True`` loses one reference per emit;
* every call of a ``void`` Qt method from Python (``setText``, ``update``, ``postEvent``,
  ``processEvents``, ``QTimer.start`` ...) returns ``None`` the same way: ``None`` loses one
  reference per call.

After some thousands of calls the count reaches zero and CPython aborts with "Fatal Python
error: bool_dealloc / none_dealloc: deallocating ...". Python 3.12+ made these objects
immortal (PEP 683), so only older Pythons crash, and any PySide6 6.12.0 app on them.

:func:`apply` checks for each leak once, at import of :mod:`photocap.ui` (before any other
thread exists), and where it is present gives the object a reference count so large that
no run can exhaust it: what Python 3.12 does for them anyway.
"""

from __future__ import annotations

import ctypes
import sys

_BIG = 1 << 48
_applied = False


def _leaks(obj, action, calls: int = 32) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(calls):
        action()
    return sys.getrefcount(obj) - before <= -calls // 2


def leaking_singletons() -> list:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    probe.fired.connect(lambda: None)
    found = []
    if _leaks(True, probe.fired.emit):
        found += [True, False]
    if _leaks(None, lambda: probe.setObjectName("probe")):
        found.append(None)
    return found


def apply() -> list:
    """Protect the singletons this PySide6 leaks; returns those it protected."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return []
    _applied = True
    found = leaking_singletons()
    for obj in found:
        refcnt = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is a PyObject's first field
        refcnt.value += _BIG
    return found
