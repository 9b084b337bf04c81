"""Repeated runs: what a run's repeats (the same start and data, other shuffles) add up to.

The race's `done` and the HTML report read them here: the spread of the final losses, the
repeat drawn boldly (the median one), and the band of the loss curves (least to largest).
A loss that is not finite (None: the repeat diverged) counts as +inf.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _key(loss: float | None) -> float:
    return math.inf if loss is None else loss


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def spread(losses: Sequence[float | None]) -> dict[str, float | None]:
    """The median, least and largest of the repeats' final losses (None where it is +inf)."""
    ordered = sorted(map(_key, losses))
    k = len(ordered)
    median = ordered[k // 2] if k % 2 else (ordered[k // 2 - 1] + ordered[k // 2]) / 2
    return {"loss_median": _finite(median), "loss_min": _finite(ordered[0]),
            "loss_max": _finite(ordered[-1])}


def median_repeat(losses: Sequence[float | None]) -> int:
    """The repeat whose final loss is the median (of an even count, the lower middle one)."""
    order = sorted(range(len(losses)), key=lambda r: (_key(losses[r]), r))
    return order[(len(order) - 1) // 2]


def band(curves: Sequence[Sequence[float | None]]) -> tuple[list, list, list]:
    """Per iteration, the (median, least, largest) loss over the repeats that reached it."""
    med, low, high = [], [], []
    for i in range(max(map(len, curves), default=0)):
        values = sorted(_key(c[i]) for c in curves if i < len(c))
        k = len(values)
        m = values[k // 2] if k % 2 else (values[k // 2 - 1] + values[k // 2]) / 2
        med.append(_finite(m))
        low.append(_finite(values[0]))
        high.append(_finite(values[-1]))
    return med, low, high
