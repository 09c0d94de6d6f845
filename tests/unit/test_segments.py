"""Lifecycle stages, RFM quintiles, and segments as facts journey conditions can use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postventa.journeys.model import Condition
from postventa.logic.conditions import all_hold
from postventa.logic.facts import facts
from postventa.logic.segments import Lifecycle, lifecycle, quintile, rfm_code
from postventa.models.records import CustomerProfile

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("orders", "idle_days", "vip", "stage"),
    [
        (1, 10, False, Lifecycle.NEW),
        (2, 10, False, Lifecycle.RETURNING),
        (1, 10, True, Lifecycle.VIP),
        (5, 91, True, Lifecycle.AT_RISK),  # drifting away outranks value
        (5, 181, False, Lifecycle.LAPSED),
    ],
)
def test_lifecycle_stages(orders, idle_days, vip, stage):
    assert lifecycle(orders, NOW - timedelta(days=idle_days), vip, NOW) is stage


def test_quintiles_against_the_populations_edges():
    edges = [10.0, 20.0, 30.0, 40.0]
    assert [quintile(v, edges) for v in (5, 10, 15, 35, 50)] == [1, 1, 2, 4, 5]
    assert [quintile(v, edges, higher_is_better=False) for v in (5, 15, 50)] == [5, 4, 1]


def test_rfm_gives_5_to_the_most_recent_frequent_and_valuable():
    edges = {"recency": [10, 30, 60, 120], "frequency": [1, 2, 3, 5], "monetary": [50, 100, 200, 400]}
    assert rfm_code(days_idle=3, purchases=9, spend=900, edges=edges) == "555"
    assert rfm_code(days_idle=300, purchases=1, spend=10, edges=edges) == "111"


def test_segments_are_facts_for_journey_conditions():
    profile = CustomerProfile(
        customer_id="a",
        updated_at=NOW,
        orders_count=2,
        last_order_at=NOW - timedelta(days=100),
        total_spent=150.0,
        categories_bought=["footwear", "socks"],
    )
    context = facts(profile=profile, order=None, now=NOW)
    customer = context["customer"]
    assert (customer["lifecycle"], customer["days_since_last_order"], customer["average_order_value"]) == (
        "at_risk",
        100,
        75.0,
    )
    at_risk_and_cross_sold = [
        Condition(field="customer.lifecycle", op="eq", value="at_risk"),
        Condition(field="customer.categories_bought", op="contains", value="socks"),
    ]
    assert all_hold(at_risk_and_cross_sold, context)
    assert not all_hold([Condition(field="customer.lifecycle", op="eq", value="vip")], context)
