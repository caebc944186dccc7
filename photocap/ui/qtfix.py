"""Work-around for a PySide6 6.12.0 bug that crashes the app on Python < 3.12.

In PySide6 6.12.0 every ``SignalInstance.emit()`` made from Python returns ``True``
without taking a reference to it, so each emit lowers ``True``'s reference count by one
(measured here: -10 after 10 emits, any connection type; 6.11.3 is fine). After a few
thousand emits the count reaches zero and CPython aborts with "Fatal Python error:
bool_dealloc: deallocating True or False". Python 3.12+ made ``True`` immortal (PEP 683),
so only older Pythons crash.

:func:`apply` checks for the bug once (before any other thread exists) and, where it is
present, gives ``True`` and ``False`` a reference count so large that no run can exhaust
it, which is what Python 3.12 does for them anyway.
"""

from __future__ import annotations

import ctypes
import sys

_BIG = 1 << 48
_applied = False


def emit_leaks_true() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    probe.fired.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(32):
        probe.fired.emit()
    return sys.getrefcount(True) - before <= -16


def apply() -> bool:
    """Protect ``True``/``False`` when this PySide6 leaks them; True if it did anything."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _applied = True
    if not emit_leaks_true():
        return False
    for obj in (True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is a PyObject's first field
        refcnt.value += _BIG
    return True
