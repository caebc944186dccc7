"""Check photocap's all-MiniLM-L6-v2 against sentence-transformers on the same zip.

    python scripts/check_sentence_model.py     # needs sentence-transformers (not a photocap dependency)

Prints the largest difference between the two (1.3e-7 when last run) and a few cosines.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photocap.model.sentence import SentenceEmbedder, model_zip

TEXTS = [
    "cat",
    "kitten",
    "truck",
    "a boat on a lake at sunset",
    "canoe, dock or seashore",
    "Egyptian cat, tabby or tiger cat",
    "a mountain landscape with snow",
    "",
]


def main() -> int:
    from sentence_transformers import SentenceTransformer

    ours = SentenceEmbedder.load().embed(TEXTS)
    with tempfile.TemporaryDirectory() as d:
        zipfile.ZipFile(model_zip()).extractall(d)
        ref = SentenceTransformer(d, device="cpu").encode(TEXTS, normalize_embeddings=True)
    print("cosines (ours):")
    print(np.round(ours @ ours.T, 3))
    diff = float(np.abs(ref - ours).max())
    print(f"max abs difference against sentence-transformers: {diff:.2e}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
