"""Splits, local-time waits (daylight saving included), facts and re-entry: the pure decisions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from postventa.journeys.loader import parse_journey
from postventa.logic.entry import reentry_refusal
from postventa.logic.facts import facts, nps_band
from postventa.logic.schedule import next_local_time, wait_until
from postventa.logic.splits import HOLDOUT, assign
from postventa.models.common import Money
from postventa.models.records import (
    CustomerProfile,
    JourneyEntry,
    MessageRecord,
    MessageStatus,
    NpsAnswer,
    OrderRecord,
)

NEW_YORK, MADRID, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Europe/Madrid"), ZoneInfo("Asia/Tokyo")


def test_assignment_is_deterministic_and_independent_per_experiment():
    variants = [("a", 1), ("b", 1)]
    first = [assign(f"c{i}", "exp-1", variants, 10) for i in range(200)]
    assert first == [assign(f"c{i}", "exp-1", variants, 10) for i in range(200)]
    other = [assign(f"c{i}", "exp-2", variants, 10) for i in range(200)]
    assert first != other  # another experiment reshuffles


def test_weights_and_holdout_shares():
    shares = Counter(assign(f"customer-{i}", "exp", [("a", 3), ("b", 1)], 10) for i in range(20_000))
    assert shares[HOLDOUT] / 20_000 == pytest.approx(0.10, abs=0.01)
    assert shares["a"] / 20_000 == pytest.approx(0.675, abs=0.015)
    assert shares["b"] / 20_000 == pytest.approx(0.225, abs=0.015)
    assert set(Counter(assign(f"c{i}", "exp", [("only", 1)], 0) for i in range(500))) == {"only"}


def test_a_decided_test_routes_everyone_outside_the_holdout_to_the_winner():
    customers = [f"customer-{i}" for i in range(5_000)]
    before = [assign(c, "exp", [("a", 1), ("b", 1)], 10) for c in customers]
    after = [assign(c, "exp", [("a", 1), ("b", 1)], 10, winner="b") for c in customers]
    assert Counter(after).keys() == {"b", HOLDOUT}
    assert [x == HOLDOUT for x in after] == [x == HOLDOUT for x in before]  # the same holdout keeps measuring


def test_a_winner_must_be_one_of_the_variants():
    text = """
name: w
version: 1
trigger: {event: Order Placed}
steps:
  - id: offer
    split:
      winner: c
      variants: [{name: a, steps: []}, {name: b, steps: []}]
"""
    with pytest.raises(Exception, match="winner 'c' is not one of the variants"):
        parse_journey(text, "w.yaml")


def test_next_local_time_today_or_tomorrow():
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Madrid
    assert next_local_time(now, MADRID, time(10, 0)) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert next_local_time(now, MADRID, time(8, 30)) == datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
    assert next_local_time(now, TOKYO, time(10, 0)) == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def test_next_10am_across_the_spring_forward_night_is_23_hours_later():
    saturday_10am = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 10:00 EST, the night before DST starts
    sunday_10am = next_local_time(saturday_10am, NEW_YORK, time(10, 0))
    assert sunday_10am == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert sunday_10am - saturday_10am == timedelta(hours=23)
    assert sunday_10am.astimezone(NEW_YORK).hour == 10


def test_a_local_time_skipped_by_the_clock_change_moves_forward():
    before = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST on the spring-forward night
    assert next_local_time(before, NEW_YORK, time(2, 30)).astimezone(NEW_YORK).time() == time(3, 30)


def test_fall_back_keeps_the_local_hour():
    saturday = datetime(2026, 10, 31, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert next_local_time(saturday, NEW_YORK, time(10, 0)) - saturday == timedelta(hours=25)


def test_wait_until_a_date_on_the_order_plus_offset_at_local_time():
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    placed = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    until = wait_until(now, MADRID, at=time(10, 0), base=placed, offset=timedelta(days=30))
    assert until == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # 10:00 CEST, after the March change


def test_birthdays_come_yearly_and_29_february_falls_on_1_march():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert wait_until(now, MADRID, at=None, base=date(1990, 5, 17), yearly=True) == datetime(
        2027, 5, 17, 7, 0, tzinfo=UTC
    )
    assert wait_until(now, MADRID, at=None, base=date(1990, 8, 17), yearly=True) == datetime(
        2026, 8, 17, 7, 0, tzinfo=UTC
    )
    assert wait_until(now, MADRID, at=None, base=date(2000, 2, 29), yearly=True).date() == date(2027, 3, 1)


def test_a_date_in_the_past_does_not_wait():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert wait_until(now, MADRID, at=None, base=date(2026, 1, 1)) == now


NOW = datetime(2026, 3, 10, tzinfo=UTC)


def test_facts_expose_engagement_repurchase_and_nps_band():
    profile = CustomerProfile(
        customer_id="c", updated_at=NOW, orders_count=2, last_order_at=NOW - timedelta(days=1)
    )
    order = OrderRecord(
        order_id="o",
        customer_id="c",
        placed_at=NOW - timedelta(days=9),
        total=Money(amount=1, currency="USD"),
        items=[],
    )
    message = MessageRecord(
        message_id="m",
        customer_id="c",
        order_id="o",
        journey="j",
        version=1,
        step="hello",
        execution_id="x",
        channel="email",
        template="t",
        purpose="marketing",
        status=MessageStatus.SENT,
        at=NOW,
        opened_at=NOW,
    )
    context = facts(
        profile=profile,
        order=order,
        messages=[message],
        nps=NpsAnswer(customer_id="c", score=6, at=NOW),
        started_at=NOW - timedelta(days=9),
        now=NOW,
    )
    assert context["message"]["hello"] == {"status": "sent", "opened": True, "clicked": False}
    assert context["journey"] == {"purchased_again": True, "days_in_journey": 9}
    assert context["nps"] == {"score": 6, "band": "detractor"}
    assert context["customer"]["orders_count"] == 2
    assert [nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractor"] * 2 + ["passive"] * 2 + [
        "promoter"
    ] * 2


def test_reentry_is_refused_within_the_period():
    journey = parse_journey(
        "name: j\nversion: 1\nreentry_after: 30d\ntrigger: {event: Order Placed}\nsteps:\n  - {id: w, wait: 1d}\n",
        "j.yaml",
    )
    entry = JourneyEntry(
        customer_id="c",
        journey="j",
        version=1,
        trigger_id="o1",
        order_id="o1",
        execution_name="x",
        entered_at=NOW - timedelta(days=10),
    )
    assert reentry_refusal(journey, [entry], NOW) == "entered 10 days ago; re-entry after 30 days"
    assert reentry_refusal(journey, [entry], NOW + timedelta(days=21)) is None
    assert reentry_refusal(journey, [], NOW) is None
