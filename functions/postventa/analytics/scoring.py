"""The scoring job: from the per-customer summary (sql/summary.sql) to what each profile carries
(predicted value, probability alive, VIP and early-VIP flags, RFM, recommended complements).

Fitting and scoring are apart so the job scales: the model is fitted once, on every customer or on
a uniform sample of them, and saved as JSON; any number of batches then score their own customers
against it (the population's lines and edges are part of the model, not recomputed per batch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from postventa.analytics.recommend import (
    DEFAULT_THRESHOLDS,
    Rule,
    Thresholds,
    association_rules,
    complements,
    recommend,
)
from postventa.analytics.value import (
    Array,
    BgNbd,
    GammaGamma,
    Summary,
    ValueModel,
    ValueScores,
    fit_value_model,
)
from postventa.logic.segments import rfm_code
from postventa.models.records import ProfileScore

# Below this the fits are noise: no parameters rather than confident nonsense.
MIN_REPEAT_CUSTOMERS = 20
TOP_TENTH = 0.9
PROBABLY_ACTIVE = 0.5  # below it, no date is expected for a next purchase
QUINTILE_EDGES = [0.2, 0.4, 0.6, 0.8]
SUMMARY_COLUMNS = (
    "customer_id",
    "repeat_purchases",
    "last_purchase_age",
    "customer_age",
    "repeat_mean_spend",
    "first_spend",
    "spend",
    "products",
)


@dataclass(frozen=True)
class Customers:
    """The summary as columns; rows may come from DuckDB (typed) or an Athena CSV (text)."""

    ids: list[str]
    summary: Summary
    spend: Array
    baskets: list[frozenset[str]]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> Customers:
        ids, numbers, baskets = [], [], []
        for customer_id, x, t_x, age, m, first, spend, products in rows:
            ids.append(str(customer_id))
            numbers.append([float(x), float(t_x), float(age), float(m or 0), float(first or 0), float(spend)])
            baskets.append(frozenset(filter(None, str(products or "").split("|"))))
        table = np.array(numbers, dtype=float).reshape(-1, 6)
        x, t_x, age, m, first, spend = table.T
        return cls(ids, Summary(ids, x, t_x, age, m, first), spend, baskets)

    def sample(self, size: int, seed: int = 0) -> Customers:
        """A uniform sample for fitting when there are more customers than one fit needs."""
        if len(self.ids) <= size:
            return self
        keep = np.sort(np.random.default_rng(seed).choice(len(self.ids), size, replace=False))
        s = self.summary
        return Customers(
            [self.ids[i] for i in keep],
            Summary(
                [s.customer_ids[i] for i in keep], s.x[keep], s.t_x[keep], s.T[keep], s.m[keep], s.first[keep]
            ),
            self.spend[keep],
            [self.baskets[i] for i in keep],
        )


@dataclass(frozen=True)
class ScoringModel:
    value: ValueModel | None
    not_fitted: str | None
    vip_line: float | None
    early_vip_line: float | None
    rfm_edges: dict[str, list[float]]
    complements: dict[str, list[str]]
    rules: list[Rule] = field(default_factory=list)

    def score(self, customers: Customers, last_day: date) -> tuple[ValueScores | None, list[ProfileScore]]:
        """last_day: the summary's last day observed (its ages run to it)."""
        s = customers.summary
        values = self.value.score(s) if self.value is not None else None
        scores = []
        for i, customer_id in enumerate(customers.ids):
            predicted = float(values.predicted_value[i]) if values is not None else None
            scores.append(
                ProfileScore(
                    customer_id=customer_id,
                    predicted_value=round(predicted, 2) if predicted is not None else None,
                    p_alive=round(float(values.p_alive[i]), 4) if values is not None else None,
                    expected_purchases=round(float(values.expected_purchases[i]), 3)
                    if values is not None
                    else None,
                    expected_spend=round(float(values.expected_spend[i]), 2) if values is not None else None,
                    next_purchase_expected=(
                        last_day + timedelta(days=round(float(values.days_to_next_purchase[i])))
                        if values is not None and values.p_alive[i] >= PROBABLY_ACTIVE
                        else None
                    ),
                    vip=predicted is not None and self.vip_line is not None and predicted >= self.vip_line,
                    early_vip=predicted is not None
                    and s.x[i] == 0
                    and self.early_vip_line is not None
                    and predicted >= self.early_vip_line,
                    rfm=rfm_code(
                        float(s.T[i] - s.t_x[i]), float(s.x[i] + 1), float(customers.spend[i]), self.rfm_edges
                    ),
                    recommended=recommend(set(customers.baskets[i]), self.complements),
                )
            )
        return values, scores

    def to_json(self) -> str:
        data = asdict(self)
        data["value"] = self.value.parameters() if self.value else None
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ScoringModel:
        data = json.loads(text)
        value = data.pop("value")
        model = (
            ValueModel(BgNbd(**value["bg_nbd"]), GammaGamma(**value["gamma_gamma"]), value["horizon"])
            if value
            else None
        )
        return cls(value=model, rules=[Rule(**rule) for rule in data.pop("rules")], **data)


def fit_scoring_model(
    customers: Customers, horizon_days: float = 365.0, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> ScoringModel:
    s = customers.summary
    rules = association_rules(customers.baskets, thresholds)
    edges = {
        "recency": _edges(s.T - s.t_x),
        "frequency": _edges(s.x + 1),
        "monetary": _edges(customers.spend),
    }
    repeaters = int(np.sum(s.x > 0))
    if repeaters < MIN_REPEAT_CUSTOMERS:
        reason = f"the models need at least {MIN_REPEAT_CUSTOMERS} customers with a repeat order; this history has {repeaters}"
        return ScoringModel(
            None, reason, None, None, edges, complements(rules, thresholds.per_product), rules
        )
    value = fit_value_model(s, horizon_days)
    predicted = value.score(s).predicted_value
    if not np.all(np.isfinite(predicted)):
        reason = "the value models did not converge on this history: no predictions rather than wrong ones"
        return ScoringModel(
            None, reason, None, None, edges, complements(rules, thresholds.per_product), rules
        )
    newcomers = predicted[s.x == 0]
    return ScoringModel(
        value,
        None,
        float(np.quantile(predicted, TOP_TENTH)),
        # Against everyone, one order can hardly rank (repeat buyers fill the top), so newcomers compete with peers.
        float(np.quantile(newcomers, TOP_TENTH)) if len(newcomers) else None,
        edges,
        complements(rules, thresholds.per_product),
        rules,
    )


def _edges(values: Array) -> list[float]:
    return [float(edge) for edge in np.quantile(values, QUINTILE_EDGES)] if len(values) else [0.0] * 4
