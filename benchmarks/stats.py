"""Statistics for the report: success-rate intervals and robust summaries of costs to target."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Preferred over the normal ("Wald") interval because it stays inside [0, 1] and keeps its
    coverage at 0/n and n/n, which are common here (a solver that never or always succeeds).

    Reference: E. B. Wilson, "Probable inference, the law of succession, and statistical
    inference", JASA 22 (1927).
    """
    if trials <= 0:
        return (0.0, 1.0)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def median_iqr(values: Sequence[float]) -> tuple[float, float, float] | None:
    """``(median, q25, q75)``, or ``None`` for an empty sample."""
    if len(values) == 0:
        return None
    q25, med, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(med), float(q25), float(q75)
