"""The scoring model: fitted once (on everyone or a sample), saved as JSON, scored in any batches."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from postventa.analytics.scoring import Customers, ScoringModel, fit_scoring_model
from postventa.analytics.value import BgNbd
from tests.unit.test_value import simulate_bgnbd

LAST_DAY = date(2026, 6, 30)  # the simulated summary's last day observed


def customers(count: int, seed: int = 3) -> Customers:
    """Customers simulated from BG/NBD; spend from a Gamma; half bought shoes, a third of those a cap too."""
    rng = np.random.default_rng(seed)
    x, t_x, age = simulate_bgnbd(BgNbd(r=0.8, alpha=40.0, a=0.9, b=3.0), count, rng)
    rows = []
    for i in range(count):
        first = float(rng.gamma(4, 20))
        repeat_mean = float(rng.gamma(4, 20)) if x[i] else 0.0
        products = "Trail shoes|Running cap" if i % 6 == 1 else "Trail shoes" if i % 2 else "Bottle"
        rows.append((f"c{i}", x[i], t_x[i], age[i], repeat_mean, first, first + x[i] * repeat_mean, products))
    return Customers.from_rows(rows)


def test_early_vips_are_the_top_tenth_of_one_order_customers_and_vips_the_top_tenth_of_all():
    population = customers(3000)
    model = fit_scoring_model(population)
    values, scores = model.score(population, LAST_DAY)
    assert values is not None
    newcomers = population.summary.x == 0
    early = np.array([s.early_vip for s in scores])
    assert early.sum() == pytest.approx(0.1 * newcomers.sum(), abs=2)
    assert not early[~newcomers].any()
    assert sum(s.vip for s in scores) == pytest.approx(0.1 * len(scores), abs=2)


def test_a_model_saved_as_json_scores_any_batch_as_the_whole_run_would():
    population = customers(2000)
    model = fit_scoring_model(population)
    _, whole = model.score(population, LAST_DAY)
    restored = ScoringModel.from_json(model.to_json())
    batches = [restored.score(Customers.from_rows(rows), LAST_DAY)[1] for rows in _batches(population, 250)]
    assert [score for batch in batches for score in batch] == whole


def test_recommendations_skip_what_the_customer_has_and_rfm_is_five_digits_at_most():
    population = customers(1200)
    _, scores = fit_scoring_model(population).score(population, LAST_DAY)
    by_id = dict(zip(population.ids, scores, strict=True))
    assert by_id["c3"].recommended == ["Running cap"]  # bought shoes only: the cap goes with them
    assert by_id["c1"].recommended == []  # has both already
    assert all(len(s.rfm) == 3 and set(s.rfm) <= set("12345") for s in scores)


def test_a_fit_on_a_sample_is_close_to_the_fit_on_everyone():
    population = customers(6000)
    everyone = fit_scoring_model(population).value
    sampled = fit_scoring_model(population.sample(3000)).value
    assert everyone is not None and sampled is not None
    for name in ("r", "alpha", "a", "b"):
        assert getattr(sampled.purchases, name) == pytest.approx(getattr(everyone.purchases, name), rel=0.25)


def test_too_few_repeat_buyers_give_no_value_model_but_still_rfm_and_recommendations():
    few = Customers.from_rows(
        [("a", 0, 0, 10, 0, 50, 50, "Trail shoes"), ("b", 1, 5, 30, 20, 40, 60, "Bottle")]
    )
    model = fit_scoring_model(few)
    assert model.value is None and "at least 20 customers" in (model.not_fitted or "")
    _, scores = model.score(few, LAST_DAY)
    assert [s.predicted_value for s in scores] == [None, None] and all(s.rfm for s in scores)


def _batches(population: Customers, size: int):
    s = population.summary
    rows = [
        (
            population.ids[i],
            s.x[i],
            s.t_x[i],
            s.T[i],
            s.m[i],
            s.first[i],
            population.spend[i],
            "|".join(sorted(population.baskets[i])),
        )
        for i in range(len(population.ids))
    ]
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def test_the_fit_sample_is_uniform_over_a_stream_and_counts_every_row():
    from postventa.analytics.job import reservoir

    rows = [(f"c{i}",) for i in range(10_000)]
    sample, count = reservoir(iter(rows), 1000)
    assert count == 10_000 and len(sample) == 1000 and len(set(sample)) == 1000
    positions = np.array([int(row[0][1:]) for row in sample])
    assert 4000 < positions.mean() < 6000  # not the first thousand: the whole stream is represented
    assert reservoir(iter(rows[:10]), 1000) == (rows[:10], 10)


def test_each_customer_gets_expected_purchases_spend_and_a_next_purchase_date_while_active():
    population = customers(1500)
    model = fit_scoring_model(population)
    values, scores = model.score(population, LAST_DAY)
    assert values is not None
    s = population.summary
    bg = model.value.purchases
    for i, score in enumerate(scores[:300]):
        assert score.expected_purchases == pytest.approx(float(values.expected_purchases[i]), abs=1e-3)
        assert score.predicted_value == pytest.approx(
            score.expected_purchases * score.expected_spend, rel=1e-2, abs=0.05
        )
        if score.p_alive < 0.5:
            assert score.next_purchase_expected is None  # probably lapsed: no date promised
            continue
        wait = (bg.alpha + s.T[i]) / (bg.r + s.x[i])  # days between purchases at their own rate
        idle = s.T[i] - s.t_x[i]
        expected = wait - idle if wait > idle else wait
        assert score.next_purchase_expected == LAST_DAY + timedelta(days=round(expected))
    # a frequent buyer is expected back sooner than a one-time buyer of the same age
    frequent = min(range(len(scores)), key=lambda i: (-s.x[i], s.T[i] - s.t_x[i]))
    once = next(i for i in range(len(scores)) if s.x[i] == 0 and abs(s.T[i] - s.T[frequent]) < 60)
    assert scores[frequent].next_purchase_expected < scores[once].next_purchase_expected
