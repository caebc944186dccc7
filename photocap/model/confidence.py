"""How sure a taught model is of a caption, and when it should say tags instead.

A model taught on a few hundred of the user's photos writes fluent captions for photos
like those, and confident-sounding garbage ("the cups at at at") for photos unlike any of
them. Two signals tell the cases apart:

* **familiarity**: the cosine distance from the photo's pooled encoder feature to the
  nearest taught photo (the model file carries up to :data:`MAX_PROTOTYPES` of those
  features, L2-normalised, as the ``extra.taught`` tensor);
* **fluency**: the caption's mean log-probability per token (words and ``<end>``).

Both thresholds are calibrated when teaching ends, on the held-out photos (and on each
taught photo's distance to its nearest *other* taught photo), and stored in the model's
JSON metadata under ``"confidence"``. The confidence of a caption is

    sigmoid(min((d_max - d) / d_scale, (lp - lp_min) / lp_scale))

so it is 0.5 exactly at the stricter of the two thresholds. Below :data:`FALL_BACK_BELOW`
the captioner describes the photo by its tags instead (source ``tags``), as it did
before the model was taught: a taught model never makes such a photo's description worse.
Models without a calibration (trained on COCO, say) are never overruled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

META_KEY = "confidence"
PROTOTYPES_KEY = "taught"  # the tensor ``extra.taught`` of a model file
MAX_PROTOTYPES = 4096
FALL_BACK_BELOW = 0.5
VERSION = 1


@dataclass(frozen=True)
class Calibration:
    distance_max: float  # cosine distance to the nearest taught photo still called familiar
    distance_scale: float
    logprob_min: float  # mean log-probability per token still called fluent
    logprob_scale: float
    calibrated_on: int = 0  # how many held-out captions/photos set it
    version: int = VERSION

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> Calibration | None:
        """The calibration stored in a model's metadata, or None (unknown or absent: no fall-back)."""
        raw = (meta or {}).get(META_KEY)
        if not isinstance(raw, dict) or raw.get("version") != VERSION:
            return None
        try:
            values: dict[str, Any] = {
                k: (int(v) if k in ("calibrated_on", "version") else float(v))
                for k, v in raw.items()
                if k in cls.__dataclass_fields__
            }
            return cls(**values)
        except (TypeError, ValueError):
            return None

    def score(self, distance: float | None, mean_logprob: float | None) -> float:
        """Confidence in [0, 1]; 0.5 at the stricter threshold."""
        margins = []
        if distance is not None:
            margins.append((self.distance_max - distance) / max(self.distance_scale, 1e-6))
        if mean_logprob is not None:
            margins.append((mean_logprob - self.logprob_min) / max(self.logprob_scale, 1e-6))
        if not margins:
            return 1.0
        z = max(-30.0, min(30.0, min(margins)))
        return 1.0 / (1.0 + math.exp(-z))


def normalise(pooled: torch.Tensor) -> torch.Tensor:
    return F.normalize(pooled.float(), dim=-1)


def nearest_distance(
    pooled: torch.Tensor, prototypes: torch.Tensor, exclude_self: bool = False, chunk: int = 1024
) -> torch.Tensor:
    """Cosine distance of each row of ``pooled`` ``(B, C)`` to its nearest prototype ``(P, C)``.

    ``exclude_self``: ``pooled`` *are* the prototypes (same order); each row's own match is skipped.
    """
    q = normalise(pooled)
    p = normalise(prototypes).to(q.device)
    out = []
    for start in range(0, q.shape[0], chunk):
        sim = q[start : start + chunk] @ p.T
        if exclude_self:
            idx = torch.arange(start, min(start + chunk, q.shape[0]), device=q.device)
            sim[torch.arange(len(idx), device=q.device), idx] = -2.0
        out.append(1.0 - sim.max(dim=1).values)
    return torch.cat(out) if out else torch.zeros(0)


def choose_prototypes(pooled: torch.Tensor, limit: int = MAX_PROTOTYPES, seed: int = 0) -> torch.Tensor:
    """At most ``limit`` taught photos' features (an even random sample), normalised, float16."""
    x = normalise(pooled)
    if x.shape[0] > limit:
        g = torch.Generator().manual_seed(seed)
        x = x[torch.randperm(x.shape[0], generator=g)[:limit]]
    return x.half().contiguous()


def calibrate(
    held_out_distance: Sequence[float] | np.ndarray, held_out_logprob: Sequence[float] | np.ndarray
) -> Calibration:
    """Thresholds from familiar examples: the held-out photos' (and the taught photos'
    leave-one-out) distances, and the held-out captions' mean log-probabilities.

    The familiar side is all we can see at teaching time, so the thresholds sit a margin
    beyond its edge: ``d_max`` = 95th percentile + 3 x spread (floor 0.05), ``lp_min`` =
    5th percentile - 3 x spread (spread: the median absolute deviation, floored at 0.02 and
    0.3), so a photo like the taught ones keeps the taught caption and one far from all of
    them does not. Measured (bench/teach_personal.py): held-out shots of taught scenes lie at
    0.00-0.17 from the nearest taught photo, photos of other things at 0.48-0.69.
    """
    d = np.asarray(held_out_distance, dtype=np.float64)
    lp = np.asarray(held_out_logprob, dtype=np.float64)
    d = d[np.isfinite(d)]
    lp = lp[np.isfinite(lp)]
    if d.size:
        d_spread = max(float(np.median(np.abs(d - np.median(d)))), 0.02)
        d_max = max(float(np.percentile(d, 95)) + 3 * d_spread, 0.05)
    else:
        d_spread, d_max = 0.05, 0.25
    if lp.size:
        lp_spread = max(float(np.median(np.abs(lp - np.median(lp)))), 0.3)
        lp_min = float(np.percentile(lp, 5)) - 3 * lp_spread
    else:
        lp_spread, lp_min = 0.5, -2.5
    return Calibration(
        distance_max=round(d_max, 4),
        distance_scale=round(d_spread, 4),
        logprob_min=round(lp_min, 4),
        logprob_scale=round(lp_spread, 4),
        calibrated_on=int(max(d.size, lp.size)),
    )
