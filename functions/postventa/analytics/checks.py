"""The models' and decisions' promises, checked on data simulated from known truths: the unit
tests run them at a few seconds each, `make bench` at full size."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from postventa.analytics.stats import compare, holm
from postventa.analytics.value import BgNbd, GammaGamma

Counts = dict[str, tuple[int, int]]  # variant -> (conversions, customers)


def simulate_bgnbd(
    truth: BgNbd, customers: int, rng: np.random.Generator, ages: tuple[float, float] = (60, 540)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) per customer: rate λ ~ Gamma(r, 1/alpha), dropout p ~ Beta(a, b), observed for
    T days after a first purchase."""
    x, t_x, T = np.zeros(customers), np.zeros(customers), rng.uniform(*ages, customers)
    rates = rng.gamma(truth.r, 1 / truth.alpha, customers)
    dropouts = rng.beta(truth.a, truth.b, customers)
    for i in range(customers):
        now = 0.0
        while True:  # active after the first purchase; may drop out after each repeat purchase
            now += rng.exponential(1 / rates[i])
            if now > T[i]:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < dropouts[i]:
                break
    return x, t_x, T


def simulate_gamma_gamma(
    truth: GammaGamma, customers: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(x, m): 1 to 7 repeat purchases each, spends ~ Gamma(p, 1/nu) with nu ~ Gamma(q, 1/v)."""
    x = rng.integers(1, 8, customers).astype(float)
    nu = rng.gamma(truth.q, 1 / truth.v, customers)  # each customer's rate: mean spend p / nu
    m = np.array([rng.gamma(truth.p, 1 / nu[i], int(x[i])).mean() for i in range(customers)])
    return x, m


def peeking_rate(
    rates: tuple[float, float],
    runs: int,
    decide: Callable[[Counts], bool],
    rng: np.random.Generator,
    looks: int = 20,
    per_look: int = 250,
) -> float:
    """How often an A/B test read after each of `looks` batches of customers per variant ever
    declares a winner: a marketer checking the report daily and acting on the first one."""
    found = 0
    for _ in range(runs):
        a = np.cumsum(rng.binomial(per_look, rates[0], looks))
        b = np.cumsum(rng.binomial(per_look, rates[1], looks))
        found += any(
            decide({"a": (int(a[k]), per_look * (k + 1)), "b": (int(b[k]), per_look * (k + 1))})
            for k in range(looks)
        )
    return found / runs


def holm_family_rate(
    variants: int,
    runs: int,
    rng: np.random.Generator,
    rate: float = 0.1,
    looks: int = 20,
    per_look: int = 250,
) -> float:
    """Variants with no effect against one holdout, read `looks` times: how often some variant is
    ever called significant, with Holm's correction at 5%."""
    names = [f"v{i}" for i in range(variants)]
    ever = 0
    for _ in range(runs):
        counts = {name: np.cumsum(rng.binomial(per_look, rate, looks)) for name in [*names, "holdout"]}
        for k in range(looks):
            n = per_look * (k + 1)
            p_values = {
                name: compare((int(counts[name][k]), n), (int(counts["holdout"][k]), n)).p_value
                for name in names
            }
            if any(holm(p_values, 0.05).values()):
                ever += 1
                break
    return ever / runs
