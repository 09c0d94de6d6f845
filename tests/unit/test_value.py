"""BG/NBD and Gamma-Gamma recover the parameters of data simulated from the models themselves."""

from __future__ import annotations

import numpy as np
import pytest

from postventa.analytics.value import BgNbd, GammaGamma, fit_bgnbd, fit_gamma_gamma


def simulate_bgnbd(truth: BgNbd, customers: int, rng: np.random.Generator):
    """Each customer: rate λ ~ Gamma(r, 1/alpha), dropout p ~ Beta(a, b), observed for T days after a first purchase."""
    x, t_x, T = np.zeros(customers), np.zeros(customers), rng.uniform(60, 540, customers)
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


def test_bgnbd_recovers_known_parameters():
    truth = BgNbd(r=0.8, alpha=40.0, a=0.9, b=3.0)
    x, t_x, T = simulate_bgnbd(truth, 8000, np.random.default_rng(7))
    fitted = fit_bgnbd(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.2), name
    # and what the fit is for: the customers it calls alive are the ones who were not dropped out
    assert fitted.p_alive(np.array([0.0]), np.array([0.0]), np.array([100.0]))[0] == 1.0


def test_gamma_gamma_recovers_known_parameters():
    truth = GammaGamma(p=6.0, q=4.0, v=15.0)
    rng = np.random.default_rng(11)
    customers = 6000
    x = rng.integers(1, 8, customers).astype(float)
    nu = rng.gamma(truth.q, 1 / truth.v, customers)  # each customer's rate: mean spend p / nu
    m = np.array([rng.gamma(truth.p, 1 / nu[i], int(x[i])).mean() for i in range(customers)])
    fitted = fit_gamma_gamma(x, m)
    for name in ("p", "q", "v"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.2), name
    # the conditional expectation moves from the population mean towards the customer's own mean
    population = truth.p * truth.v / (truth.q - 1)
    spend = fitted.expected_spend(np.array([1.0, 20.0]), np.array([200.0, 200.0]))
    assert population < spend[0] < spend[1] < 200.0
