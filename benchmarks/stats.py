"""Medians, percentiles and same-run ratios."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank: a value that was really observed."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratios(values: Sequence[float], baselines: Sequence[float]) -> list[float]:
    """Each run's value over the baseline measured in the same run."""
    return [v / b for v, b in zip(values, baselines, strict=True)]


def median_ratio(values: Sequence[float], baselines: Sequence[float]) -> float:
    """The median of same-run ratios: drift between runs (other load) cancels out."""
    return median(ratios(values, baselines))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
