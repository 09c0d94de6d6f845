"""Lifecycle stages and RFM scores: where a customer stands, for journey conditions and reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

AT_RISK_DAYS = 90  # no order for this long: at risk
LAPSED_DAYS = 180  # and for this long: lapsed (the churn KPI counts these)


class Lifecycle(StrEnum):
    NEW = "new"
    RETURNING = "returning"
    VIP = "vip"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"


def lifecycle(orders: int, last_order: datetime, vip: bool, now: datetime) -> Lifecycle:
    """Drifting away outranks value: a VIP who stopped buying needs the win-back, not the VIP perks."""
    idle_days = (now - last_order).total_seconds() / 86400
    if idle_days > LAPSED_DAYS:
        return Lifecycle.LAPSED
    if idle_days > AT_RISK_DAYS:
        return Lifecycle.AT_RISK
    if vip:
        return Lifecycle.VIP
    return Lifecycle.RETURNING if orders >= 2 else Lifecycle.NEW


def quintile_scores(values: dict[str, float], higher_is_better: bool = True) -> dict[str, int]:
    """1-5 by rank: ties share the score of their first rank."""
    ranked = sorted(values.items(), key=lambda item: item[1], reverse=not higher_is_better)
    scores: dict[str, int] = {}
    first_rank: dict[float, int] = {}
    for rank, (key, value) in enumerate(ranked):
        position = first_rank.setdefault(value, rank)
        scores[key] = 1 + position * 5 // len(ranked)
    return scores


def rfm_scores(customers: dict[str, tuple[float, int, float]]) -> dict[str, str]:
    """(days since the last order, orders, spend) per customer → "RFM" digits, 5 the best."""
    recency = quintile_scores({c: -days for c, (days, _, _) in customers.items()})
    frequency = quintile_scores({c: float(orders) for c, (_, orders, _) in customers.items()})
    monetary = quintile_scores({c: spend for c, (_, _, spend) in customers.items()})
    return {c: f"{recency[c]}{frequency[c]}{monetary[c]}" for c in customers}
