"""How many threads the BLAS under numpy may use, per call site.

Two kinds of product run on this app's threads: small ones (a query through the sentence model)
and ones bound by memory speed (scanning the in-memory vectors), where a second BLAS thread adds
little, and after the call keeps spinning for a while on the other core, where the word search
runs beside it (measured: a hybrid search right after "similar photos" took 14.6 ms, not 8.8).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


def blas_threads(limit: int | None) -> AbstractContextManager[Any]:
    """A ``with`` block in which BLAS uses at most ``limit`` threads (None: as many as it likes).
    The process's BLAS libraries are looked up once (each lookup walks every loaded library: ms)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=limit, user_api="blas")
