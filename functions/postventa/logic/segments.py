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


def quintile(value: float, edges: list[float], higher_is_better: bool = True) -> int:
    """1-5 against the population's quintile edges (the 20/40/60/80th percentiles), 5 the best."""
    if higher_is_better:
        return 1 + sum(value > edge for edge in edges)
    return 1 + sum(value < edge for edge in edges)


def rfm_code(days_idle: float, purchases: float, spend: float, edges: dict[str, list[float]]) -> str:
    """ "RFM" digits, e.g. 545: recent, frequent and valuable score 5."""
    recency = quintile(days_idle, edges["recency"], higher_is_better=False)
    return f"{recency}{quintile(purchases, edges['frequency'])}{quintile(spend, edges['monetary'])}"
