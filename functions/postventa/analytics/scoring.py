"""The scoring job's work: from every customer's order history to what goes on each profile
(predicted value, probability alive, VIP flags, RFM, recommended complements).

The input is one row per order; what scales is that the models need one row per customer
(analytics/value.py) and the rules one basket per customer, so the job's memory follows the
number of customers, not orders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from postventa.analytics.recommend import (
    DEFAULT_THRESHOLDS,
    Rule,
    Thresholds,
    association_rules,
    complements,
    recommend,
)
from postventa.analytics.value import ValueModel, ValueScores, fit_value_model, summarize
from postventa.logic.segments import rfm_scores
from postventa.models.records import ProfileScore

# Below this the fits are noise: no parameters rather than confident nonsense.
MIN_REPEAT_CUSTOMERS = 20


@dataclass(frozen=True)
class OrderLine:
    customer_id: str
    placed_at: datetime
    total: float
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scoring:
    model: ValueModel | None
    not_fitted: str | None
    values: ValueScores | None
    customers: list[ProfileScore]
    rules: list[Rule]
    thresholds: Thresholds


def score_customers(
    orders: list[OrderLine],
    as_of: datetime,
    horizon_days: float = 365.0,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Scoring:
    seen = [order for order in orders if order.placed_at <= as_of]
    baskets: defaultdict[str, set[str]] = defaultdict(set)
    spend: defaultdict[str, float] = defaultdict(float)
    for order in seen:
        baskets[order.customer_id].update(order.products)
        spend[order.customer_id] += order.total
    rules = association_rules((frozenset(b) for b in baskets.values()), thresholds)
    table = complements(rules, thresholds.per_product)

    summary = summarize([(o.customer_id, o.placed_at, o.total) for o in seen], as_of)
    repeaters = int(np.sum(summary.x > 0))
    model, values, not_fitted = None, None, None
    if repeaters >= MIN_REPEAT_CUSTOMERS:
        model = fit_value_model(summary, horizon_days)
        values = model.score(summary)
    else:
        not_fitted = f"the models need at least {MIN_REPEAT_CUSTOMERS} customers with a repeat order; this history has {repeaters}"
    rfm = rfm_scores(
        {
            customer: (float(summary.T[i] - summary.t_x[i]), int(summary.x[i]) + 1, spend[customer])
            for i, customer in enumerate(summary.customer_ids)
        }
    )
    vip_line = float(np.quantile(values.predicted_value, 0.9)) if values is not None else None
    customers = [
        ProfileScore(
            customer_id=customer,
            predicted_value=round(float(values.predicted_value[i]), 2) if values is not None else None,
            p_alive=round(float(values.p_alive[i]), 4) if values is not None else None,
            vip=values is not None and vip_line is not None and bool(values.predicted_value[i] >= vip_line),
            early_vip=values is not None and bool(values.early_vip[i]),
            rfm=rfm[customer],
            recommended=recommend(baskets[customer], table),
        )
        for i, customer in enumerate(summary.customer_ids)
    ]
    return Scoring(model, not_fitted, values, customers, rules, thresholds)
