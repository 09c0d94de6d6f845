"""Did a journey work? Conversion against its holdout, and A/B winners, by two-proportion z-tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


@dataclass(frozen=True)
class Comparison:
    treated_rate: float
    control_rate: float
    uplift: float  # percentage points, treated minus control
    relative_uplift: float | None
    z: float
    p_value: float  # two-sided

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


def compare(treated: tuple[int, int], control: tuple[int, int]) -> Comparison:
    """(conversions, customers) of each group; the pooled two-proportion z-test."""
    (x1, n1), (x2, n2) = treated, control
    if n1 == 0 or n2 == 0:
        raise ValueError("both groups need customers")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / spread if spread else 0.0
    return Comparison(p1, p2, p1 - p2, (p1 - p2) / p2 if p2 else None, z, float(2 * norm.sf(abs(z))))


@dataclass(frozen=True)
class Verdict:
    winner: str | None
    reason: str


def ab_winner(variants: dict[str, tuple[int, int]], min_sample: int = 1000, alpha: float = 0.05) -> Verdict:
    """A winner only when every variant reached the minimum sample and the best beats each of the
    others significantly (Bonferroni: alpha split over the comparisons)."""
    if len(variants) < 2:
        return Verdict(None, "needs two variants")
    short = sorted(name for name, (_, n) in variants.items() if n < min_sample)
    if short:
        return Verdict(None, f"below the minimum sample of {min_sample}: {', '.join(short)}")
    best = max(variants, key=lambda name: variants[name][0] / variants[name][1])
    threshold = alpha / (len(variants) - 1)
    for name, counts in variants.items():
        if name != best and not compare(variants[best], counts).significant(threshold):
            return Verdict(None, f"{best} vs {name} not significant at {alpha}")
    return Verdict(
        best,
        f"{best} beats every other variant at {alpha}: set `winner: {best}` on the split to send it to all",
    )
