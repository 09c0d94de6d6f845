"""A backtest lets go of what no decision reads again and keeps idle customers on disk: what it
lets go is exactly what it would have kept, and what it keeps answers as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postventa.adapters.memory import MemoryStore
from tests.integration.test_store_contract import message, order

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def entry(journey: str, trigger: str, arn: str, at: datetime):
    from postventa.models.records import JourneyEntry

    return JourneyEntry(
        customer_id="c1",
        journey=journey,
        version=1,
        trigger_id=trigger,
        order_id=trigger,
        execution_name=arn,
        execution_arn=arn,
        entered_at=at,
    )


def test_an_ended_execution_lets_go_of_its_messages_and_older_entries_and_orders():
    from postventa.models.records import NpsAnswer, StepDecision

    store = MemoryStore()
    store.put_order(order("o1", T0))
    store.put_order(order("o2", T0 + 30 * DAY))
    store.save_entry(entry("post-purchase", "o1", "x1", T0))
    store.save_entry(entry("post-purchase", "o2", "x2", T0 + 30 * DAY))
    store.save_message(message("m1", execution_id="x1"))
    store.save_message(message("m2", execution_id="x2", at=T0 + 30 * DAY))
    store.save_decision(
        StepDecision(
            customer_id="c1",
            journey="post-purchase",
            version=1,
            step="s",
            execution_id="x1",
            outcome="a",
            at=T0,
        )
    )
    for score, day in ((9, 1), (3, 31)):
        store.save_nps(NpsAnswer(customer_id="c1", score=score, at=T0 + day * DAY, message_id=f"nps{day}"))

    retired = store.retire("c1", "x1", placed_before=T0 + 10 * DAY)

    assert [m.message_id for m in retired.messages] == ["m1"]
    assert [d.execution_id for d in retired.decisions] == ["x1"]
    assert [o.order_id for o in retired.orders] == ["o1"]  # its entry is no longer the latest
    assert [a.score for a in retired.answers] == [9]
    assert [m.message_id for m in store.messages_of("c1")] == ["m2"]
    assert [e.execution_arn for e in store.entries_of("c1")] == ["x2"]
    assert store.get_order("o1") is None and store.get_order("o2") is not None
    assert store.latest_nps("c1").score == 3


def test_the_journey_s_latest_entry_and_its_order_stay_until_a_later_one_has_ended():
    store = MemoryStore()
    store.put_order(order("o1", T0))
    store.save_entry(entry("post-purchase", "o1", "x1", T0))
    assert store.retire("c1", "x1", placed_before=T0 + 10 * DAY).orders == []
    assert [e.execution_arn for e in store.entries_of("c1")] == ["x1"]  # re-entry spacing reads it

    store.put_order(order("o2", T0 + 30 * DAY))
    store.save_entry(entry("post-purchase", "o2", "x2", T0 + 30 * DAY))
    retired = store.retire("c1", "x2", placed_before=T0 + 40 * DAY)
    assert [o.order_id for o in retired.orders] == ["o1"]
    assert [e.execution_arn for e in store.entries_of("c1")] == ["x2"]


def test_customers_put_away_on_disk_come_back_as_they_were():
    store = MemoryStore()
    store.put_order(order("o1", T0))
    store.save_message(message("m1"))
    store.customers.put_away_idle(generations=0)
    assert store.customers.in_memory == 0
    assert [c.messages["m1"] for c in store.customers.values()] == [message("m1")]  # read, not kept
    assert store.customers.in_memory == 0
    assert store.get_order("o1") == order("o1", T0) and store.get_message("c1", "m1") == message("m1")
    assert store.customers.in_memory == 1
    assert len(list(store.customers.values())) == 1  # taken off the disk when it came back
    store.delete(store.keys_of("c1"))
    assert store.get_order("o1") is None and list(store.customers.values()) == []
