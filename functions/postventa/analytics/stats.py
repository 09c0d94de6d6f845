"""Did a journey work? Conversion against its holdout, and A/B winners, with p-values that stay
valid however often the report is read.

A marketer checks the report every day and acts on the first significant result; a fixed-horizon
z-test read that way finds false winners far above its alpha (14% with 5 looks, 26% with 20). So
decisions use always-valid p-values: the mixture sequential probability ratio test (mSPRT) for the
difference of two proportions, with a normal mixture over the effect (Johari, Pekelis and Walsh,
"Always Valid Inference", Operations Research 2022, as Optimizely's Stats Engine runs it): by
Ville's inequality the chance that the p-value ever falls below alpha, at any look, under no
effect, is at most alpha. Chosen over alpha spending because it needs no planned number of looks
or sample size, which marketers do not have. Several variants against one holdout are corrected
with Holm's step-down; the A/B winner must beat each other variant at alpha over their number."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm

# The mixture's spread over the true difference in conversion: effects of a few points, the
# size post-purchase offers have. Smaller finds small effects sooner and large ones later.
MIXTURE_SD = 0.02


@dataclass(frozen=True)
class Comparison:
    treated_rate: float
    control_rate: float
    uplift: float  # percentage points, treated minus control
    relative_uplift: float | None
    z: float
    p_value: float  # always valid (mSPRT): what decisions use
    fixed_horizon_p_value: float  # the two-sided z-test's: valid for one look only, shown for reference

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


def compare(treated: tuple[int, int], control: tuple[int, int]) -> Comparison:
    """(conversions, customers) of each group."""
    (x1, n1), (x2, n2) = treated, control
    if n1 == 0 or n2 == 0:
        raise ValueError("both groups need customers")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / spread if spread else 0.0
    return Comparison(
        p1,
        p2,
        p1 - p2,
        (p1 - p2) / p2 if p2 else None,
        z,
        always_valid_p_value(p1 - p2, spread * spread),
        float(2 * norm.sf(abs(z))),
    )


def always_valid_p_value(difference: float, variance: float, mixture_sd: float = MIXTURE_SD) -> float:
    """1 / the mSPRT's likelihood ratio for an observed difference with this variance, against
    none, the true difference drawn from N(0, mixture_sd^2)."""
    if variance <= 0:
        return 1.0
    spread = mixture_sd * mixture_sd
    log_ratio = 0.5 * math.log(variance / (variance + spread)) + difference * difference * spread / (
        2 * variance * (variance + spread)
    )
    return min(1.0, math.exp(-log_ratio))


def holm(p_values: dict[str, float], alpha: float) -> dict[str, bool]:
    """Which of several hypotheses are rejected at family-wise alpha (Holm's step-down)."""
    rejected: dict[str, bool] = dict.fromkeys(p_values, False)
    for rank, (name, p) in enumerate(sorted(p_values.items(), key=lambda item: item[1])):
        if p >= alpha / (len(p_values) - rank):
            break
        rejected[name] = True
    return rejected


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
        few = f"{short[0]} has" if len(short) == 1 else f"{', '.join(short)} have"
        return Verdict(None, f"not decided yet: {few} fewer than {min_sample} customers")
    best = max(variants, key=lambda name: variants[name][0] / variants[name][1])
    threshold = alpha / (len(variants) - 1)
    for name, counts in variants.items():
        if name != best and not compare(variants[best], counts).significant(threshold):
            return Verdict(
                None, f"{best} vs {name} not significant yet at {alpha} (always valid: keep watching)"
            )
    return Verdict(
        best,
        f"{best} beats every other variant at {alpha}, a result that holds however often the report was read",
    )
