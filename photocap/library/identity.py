"""What the store does with a photo's content identity (the ``identity`` column, computed from
the file by :func:`photocap.ingest.files.quick_identity`, which says what it is and why it
survives moves).

``held_out`` says whether a photo is one of the stable ``HOLDOUT_PERCENT`` (10 %) the trainer
holds out, from its identity: the same photo stays on the same side after a move or a re-scan
(the whole rule is in :mod:`trainer.datasets.library`).
"""

from __future__ import annotations

import hashlib

HOLDOUT_PERCENT = 10


def held_out(identity: str) -> bool:
    """Whether the photo with this content identity is one of the held-out ``HOLDOUT_PERCENT``."""
    return int(hashlib.blake2b(identity.encode(), digest_size=4).hexdigest(), 16) % 100 < HOLDOUT_PERCENT
