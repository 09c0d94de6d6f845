"""Predicted customer value: BG/NBD for how many more purchases, Gamma-Gamma for how much each.

BG/NBD (Fader, Hardie and Lee 2005): while active, a customer buys at a Poisson rate λ ~ Gamma(r, alpha);
after each purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma (Fader and Hardie
2013): each order's value is Gamma(p, nu), shape p and rate nu, so a customer's mean spend is p / nu;
the rate nu is Gamma(q, v) across customers (shape q, rate v), which makes the population's mean
spend p v / (q - 1). Both are fitted by maximum likelihood on per-customer sufficient statistics
only (repeat purchases x, time of the last t_x, age T, mean repeat spend m), which is what lets the
job scale: the summary is one row per customer, whatever the number of orders.

Time unit: days. Written by hand on numpy/scipy rather than the `lifetimes` package, which is
archived and pins old numpy/scipy; its formulas are the ones in the papers above.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

TIME_UNIT = "days"
# Bounds in log space. A shape past 1,000 means customers are all alike (a coefficient of variation
# of 3%): the likelihood is flat out there, and an unbounded search wanders to overflow.
SHAPE = (np.log(1e-4), np.log(1e3))
SCALE = (np.log(1e-4), np.log(1e9))
Array = NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """Per customer (sql/summary.sql): repeat purchases x, age at the last purchase t_x, age T at the
    end of the observation (both from the first purchase, in days), mean value of the repeat
    purchases m (0 without one), first purchase's value (the only spend signal after one order)."""

    customer_ids: list[str]
    x: Array
    t_x: Array
    T: Array
    m: Array
    first: Array


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * np.exp(np.minimum(log_ratio, 700)), 0.0)
        return np.asarray(1.0 / (1.0 + odds))

    def days_between_purchases(self, x: Array, T: Array) -> Array:
        """While active, the wait for the next purchase at the customer's own rate: the inverse of
        its posterior mean, (alpha + T) / (r + x)."""
        return np.asarray((self.alpha + T) / (self.r + x))

    def expected_purchases(self, horizon: float, x: Array, t_x: Array, T: Array) -> Array:
        """Expected purchases in the next `horizon` days (Fader, Hardie and Lee, eq. 10)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + T + horizon)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyp
        return np.asarray(head * body * self.p_alive(x, t_x, T))


def _bgnbd_log_likelihood(params: Array, x: Array, t_x: Array, T: Array) -> float:
    r, alpha, a, b = np.exp(params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(
        repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


@dataclass(frozen=True)
class Fit:
    """How a maximum-likelihood fit went: the log-likelihood reached, and how many of its starts
    reached it (within AGREE per customer): one start alone may have stopped on a ridge."""

    log_likelihood: float
    starts: int
    agreeing: int
    # Parameters the maximum lies on the bound of (SHAPE, SCALE): the history cannot tell that
    # shape apart from customers all alike in it; predictions stand, the parameter itself means little.
    at_bound: tuple[int, ...] = ()

    @property
    def converged(self) -> bool:
        return self.agreeing >= 2


# Two starts agree when their log-likelihoods differ by less than this per customer.
AGREE = 1e-7


def _maximize(
    log_likelihood: Any, starts: list[Array], bounds: list[tuple[float, float]], n: int
) -> tuple[Array, Fit]:
    """The likelihood's maximum in log-parameter space: each start searched with Nelder-Mead (robust
    on flat, curved valleys), then polished with L-BFGS-B (it finishes what the simplex stops short
    of); the best is kept, and the starts that reached it counted."""

    def objective(params: Array) -> float:
        value = -log_likelihood(params) / n
        return value if np.isfinite(value) else 1e300

    ends = []
    for start in starts:
        rough = minimize(
            objective, start, method="Nelder-Mead", bounds=bounds, options={"maxiter": 2000, "fatol": 1e-12}
        )
        polished = minimize(
            objective, rough.x, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10}
        )
        ends.append(min((rough, polished), key=lambda result: float(result.fun)))
    best = min(ends, key=lambda result: float(result.fun))
    agreeing = sum(1 for end in ends if float(end.fun) - float(best.fun) < AGREE)
    at_bound = tuple(
        i
        for i, (value, (low, high)) in enumerate(zip(best.x, bounds, strict=True))
        if min(value - low, high - value) < 1e-3
    )
    return np.asarray(best.x), Fit(-float(best.fun) * n, len(starts), agreeing, at_bound)


def fit_bgnbd(x: Array, t_x: Array, T: Array) -> tuple[BgNbd, Fit]:
    mean_age = max(float(np.mean(T)), 1.0)
    starts = [
        np.log(start)
        for start in (
            [1.0, mean_age, 1.0, 1.0],
            [0.25, mean_age / 4, 0.5, 2.0],
            [4.0, mean_age * 4, 2.0, 0.5],
        )
    ]
    params, fit = _maximize(
        lambda p: _bgnbd_log_likelihood(p, x, t_x, T), starts, [SHAPE, SCALE, SHAPE, SHAPE], len(x)
    )
    r, alpha, a, b = np.exp(params)
    return BgNbd(float(r), float(alpha), float(a), float(b)), fit


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected_spend(self, x: Array, m: Array) -> Array:
        """Mean value of a customer's future orders; the population mean for one without repeats."""
        p, q, v = self.p, self.q, self.v
        return np.asarray((p * (v + x * m)) / (p * x + q - 1))


def _gamma_gamma_log_likelihood(params: Array, x: Array, m: Array) -> float:
    p, q, v = np.exp(params)
    return float(
        np.sum(
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(x * m + v)
        )
    )


def fit_gamma_gamma(x: Array, m: Array) -> tuple[GammaGamma, Fit]:
    """On customers with at least one repeat order and a positive mean spend."""
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    mean = max(float(np.mean(m)), 1.0)
    starts = [np.log(start) for start in ([1.0, 2.0, mean], [4.0, 4.0, mean * 4], [0.5, 1.5, mean / 4])]
    params, fit = _maximize(
        lambda prm: _gamma_gamma_log_likelihood(prm, x, m), starts, [SHAPE, SHAPE, SCALE], len(x)
    )
    p, q, v = np.exp(params)
    return GammaGamma(float(p), float(q), float(v)), fit


@dataclass(frozen=True)
class ValueScores:
    customer_ids: list[str]
    p_alive: Array
    expected_purchases: Array
    expected_spend: Array
    predicted_value: Array
    days_to_next_purchase: Array  # from the last day observed, while active


@dataclass(frozen=True)
class ValueModel:
    purchases: BgNbd
    spend: GammaGamma
    horizon_days: float
    # How the fits went (None for a model read back from its file: scored, not fitted, here).
    fits: dict[str, Fit] | None = None

    def score(self, summary: Summary) -> ValueScores:
        alive = self.purchases.p_alive(summary.x, summary.t_x, summary.T)
        purchases = self.purchases.expected_purchases(self.horizon_days, summary.x, summary.t_x, summary.T)
        # After one order the first order's value is the only sign of spend: taken as one observation.
        one_order = summary.x == 0
        spend = np.where(
            one_order,
            self.spend.expected_spend(np.ones_like(summary.x), summary.first),
            self.spend.expected_spend(summary.x, summary.m),
        )
        # The next purchase, one wait after the last (or, once that is past, one wait after today).
        wait = self.purchases.days_between_purchases(summary.x, summary.T)
        since_last = summary.T - summary.t_x
        to_next = np.where(wait > since_last, wait - since_last, wait)
        return ValueScores(summary.customer_ids, alive, purchases, spend, purchases * spend, to_next)

    def parameters(self) -> dict[str, Any]:
        return {
            "time_unit": TIME_UNIT,
            "horizon": self.horizon_days,
            "bg_nbd": asdict(self.purchases),
            "gamma_gamma": asdict(self.spend),
            **(
                {
                    "fits": {
                        name: {**asdict(fit), "converged": fit.converged} for name, fit in self.fits.items()
                    }
                }
                if self.fits
                else {}
            ),
        }


def fit_value_model(summary: Summary, horizon_days: float = 365.0) -> ValueModel:
    purchases, purchases_fit = fit_bgnbd(summary.x, summary.t_x, summary.T)
    spend, spend_fit = fit_gamma_gamma(summary.x, summary.m)
    return ValueModel(purchases, spend, horizon_days, {"bg_nbd": purchases_fit, "gamma_gamma": spend_fit})
