"""Lifecycle stages, RFM quintiles, and segments as facts journey conditions can use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postventa.journeys.model import Condition
from postventa.logic.conditions import all_hold
from postventa.logic.facts import facts
from postventa.logic.segments import Lifecycle, lifecycle, quintile_scores, rfm_scores
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


def test_quintiles_rank_into_five_equal_groups_and_ties_share_a_score():
    scores = quintile_scores({f"c{i}": float(i) for i in range(10)})
    assert [scores[f"c{i}"] for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert set(quintile_scores({"a": 1.0, "b": 1.0, "c": 1.0}).values()) == {1}


def test_rfm_gives_5_to_the_most_recent_frequent_and_valuable():
    scores = rfm_scores(
        {"best": (1, 9, 900.0), "worst": (300, 1, 10.0), **{f"m{i}": (50, 3, 100.0) for i in range(3)}}
    )
    assert (scores["best"], scores["worst"]) == ("555", "111")


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
