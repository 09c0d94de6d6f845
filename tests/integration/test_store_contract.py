"""One contract, two stores: the DynamoDB store (against moto) and the in-memory one every
backtest figure rests on answer every question of the CustomerStore port alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from postventa.adapters.memory import MemoryStore
from postventa.adapters.store import Store
from postventa.local.simulate import LOCAL_SETTINGS, provision_local_resources
from postventa.models.common import Money
from postventa.models.events import (
    DetailType,
    InboundEvent,
    LineItemV1,
    OrderFulfilledV1,
)
from postventa.models.records import (
    ContactLedger,
    CustomerProfile,
    DecidedWinner,
    EarlyEvent,
    InboxCard,
    JourneyEntry,
    MessageRecord,
    MessageStatus,
    NpsAnswer,
    OrderOutcome,
    OrderRecord,
    PendingWait,
    SentContact,
    StepDecision,
)
from postventa.services.ports import CustomerStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "memory"])
def store(request) -> Iterator[CustomerStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with mock_aws():
        provision_local_resources(dict(LOCAL_SETTINGS))
        yield Store(boto3.resource("dynamodb", region_name="us-east-1").Table(LOCAL_SETTINGS["table_name"]))


def profile(**fields) -> CustomerProfile:
    return CustomerProfile(customer_id="c1", updated_at=T0, **fields)


def order(order_id: str = "o1", placed_at: datetime = T0) -> OrderRecord:
    return OrderRecord(
        order_id=order_id,
        customer_id="c1",
        placed_at=placed_at,
        total=Money(amount=Decimal("10.00"), currency="EUR"),
        items=[LineItemV1(name="Tea", quantity=1, unit_price=Money(amount=Decimal("10.00"), currency="EUR"))],
    )


def message(message_id: str = "m1", at: datetime = T0, **fields) -> MessageRecord:
    values = {
        "message_id": message_id,
        "customer_id": "c1",
        "order_id": "o1",
        "journey": "j",
        "version": 1,
        "step": message_id,
        "execution_id": "x1",
        "channel": "email",
        "template": "t",
        "purpose": "marketing",
        "status": MessageStatus.SENDING,
        "at": at,
        "claimed_at": at,
        **fields,
    }
    return MessageRecord(**values)


def test_profiles_are_written_over_the_version_read(store):
    first = store.save_profile(profile(first_name="Ana"), None)
    assert first is not None and store.get_profile("c1") == first
    assert store.save_profile(profile(first_name="Eve"), None) is None  # someone wrote first
    second = store.save_profile(first.model_copy(update={"first_name": "Ann"}), first)
    assert second is not None and second.version == first.version + 1
    assert store.save_profile(first.model_copy(update={"first_name": "Old"}), first) is None
    assert store.get_profile("c1").first_name == "Ann"


def test_an_order_is_placed_once_with_the_profile_that_counts_it(store):
    placed = store.place_order(order(), profile(orders_count=1), None)
    assert isinstance(placed, CustomerProfile) and placed.orders_count == 1
    assert store.place_order(order(), profile(orders_count=2), placed) is OrderOutcome.KNOWN
    assert store.place_order(order("o2"), profile(orders_count=2), None) is OrderOutcome.PROFILE_CHANGED
    assert [o.order_id for o in store.orders_of("c1")] == ["o1"]
    assert store.get_profile("c1").orders_count == 1


def test_an_entry_is_claimed_once_unless_its_execution_never_started(store):
    entry = JourneyEntry(
        customer_id="c1", journey="j", version=1, trigger_id="o1", execution_name="e", entered_at=T0
    )
    assert store.claim_entry(entry)
    assert store.claim_entry(entry)  # an earlier attempt claimed it but never started the execution
    store.save_entry(entry.model_copy(update={"execution_arn": "arn:x"}))
    assert not store.claim_entry(entry)
    assert [e.execution_arn for e in store.entries_of("c1")] == ["arn:x"]


def test_a_message_is_claimed_once_and_a_deferred_one_again(store):
    claim = message()
    assert store.claim_message(claim) is None
    assert store.claim_message(message(status=MessageStatus.SENDING)) == claim
    store.save_message(claim.model_copy(update={"status": MessageStatus.DEFERRED}))
    later = message(at=T0 + timedelta(hours=1), claimed_at=T0 + timedelta(hours=1))
    assert store.claim_message(later) is None
    assert store.get_message("c1", "m1") == later


def test_only_the_claim_s_own_attempt_hands_over_releases_or_is_taken_over(store):
    claim = message()
    store.claim_message(claim)
    stale = message(claimed_at=T0 - timedelta(minutes=9))
    assert not store.hand_over(stale, "sms", T0)
    assert store.hand_over(claim, "email", T0 + timedelta(seconds=1))
    handed = store.get_message("c1", "m1")
    assert (handed.handed_over_at, handed.channel) == (T0 + timedelta(seconds=1), "email")
    store.release_message(stale)  # not its claim: left alone
    assert store.get_message("c1", "m1") is not None
    taken = message(claimed_at=T0 + timedelta(minutes=6))
    assert not store.reclaim_message(taken, T0 - timedelta(minutes=1))
    assert store.reclaim_message(taken, T0)
    store.release_message(claim)  # taken over since: left alone
    assert store.get_message("c1", "m1") == taken
    store.release_message(taken)
    assert store.get_message("c1", "m1") is None


def test_sent_is_confirmed_only_on_a_claim_and_only_a_held_message_is_dropped(store):
    store.claim_message(message("m1"))
    store.save_message(message("m2", status=MessageStatus.DEFERRED))
    assert store.confirm_sent("c1", "m1", "ses-1")
    assert not store.confirm_sent("c1", "m1", "ses-2")
    assert store.get_message("c1", "m1").provider_message_id == "ses-1"
    assert not store.drop_deferred(message("m1"), "ended")
    assert store.drop_deferred(message("m2"), "ended")
    assert (store.get_message("c1", "m2").status, store.get_message("c1", "m2").reason) == (
        MessageStatus.SUPPRESSED,
        "ended",
    )
    assert store.get_message("c1", "missing") is None


def test_messages_come_back_oldest_first(store):
    for message_id, hours in (("zz", 1), ("aa", 3), ("mm", 2)):
        store.save_message(message(message_id, at=T0 + timedelta(hours=hours), status=MessageStatus.SENT))
    assert [m.message_id for m in store.messages_of("c1")] == ["zz", "mm", "aa"]


def test_the_contact_ledger_is_written_over_the_version_read(store):
    empty = store.contact_ledger("c1")
    assert empty == ContactLedger(customer_id="c1")
    sent = SentContact(message_id="m1", purpose="marketing", at=T0)
    first = empty.model_copy(update={"version": 1, "sent": [sent]})
    assert store.save_contact_ledger(first)
    assert not store.save_contact_ledger(first)  # written over version 0 again: someone won
    assert store.save_contact_ledger(first.model_copy(update={"version": 2, "sent": []}))
    assert store.contact_ledger("c1").version == 2


def test_a_decision_is_kept_once_per_execution_and_step(store):
    decision = StepDecision(
        customer_id="c1", journey="j", version=1, step="s", execution_id="x", outcome="a", at=T0
    )
    store.save_decision(decision)
    store.save_decision(decision)  # a retried step records its decision again
    assert store.decisions_of("c1") == [decision]


def test_a_decision_is_claimed_once_and_only_its_own_claim_released(store):
    calling = StepDecision(
        customer_id="c1", journey="j", version=1, step="s", execution_id="x", outcome="calling", at=T0
    )
    assert store.claim_decision(calling) is None
    assert store.claim_decision(calling.model_copy(update={"outcome": "failed"})) == calling
    store.release_decision(calling.model_copy(update={"outcome": "called"}))  # not its claim: kept
    assert store.decisions_of("c1") == [calling]
    store.release_decision(calling)
    assert store.decisions_of("c1") == []
    assert store.claim_decision(calling) is None  # the retry claims again


def test_the_latest_answer_to_a_survey_wins(store):
    store.save_nps(NpsAnswer(customer_id="c1", score=3, message_id="s1", at=T0 + timedelta(hours=1)))
    store.save_nps(NpsAnswer(customer_id="c1", score=9, message_id="s1", at=T0))  # older: ignored
    store.save_nps(NpsAnswer(customer_id="c1", score=7, at=T0 + timedelta(hours=2)))
    assert sorted(a.score for a in store.answers_of("c1")) == [3, 7]
    assert store.latest_nps("c1").score == 7
    assert store.latest_nps("nobody") is None


def test_waits_are_found_by_order_and_event(store):
    def wait(order_id, event, step):
        return PendingWait(
            customer_id="c1", order_id=order_id, event=event, execution_id="x", step=step,
            task_token=step, registered_at=T0,
        )  # fmt: skip

    for w in (
        wait("o1", "Order Fulfilled", "a"),
        wait(None, "Order Fulfilled", "b"),
        wait("o2", "Order Fulfilled", "c"),
    ):
        store.put_wait(w)
    store.put_wait(wait("o1", "Message Opened", "d"))
    assert sorted(w.step for w in store.waits_for("c1", "o1", "Order Fulfilled")) == ["a", "b"]
    store.delete_wait(wait("o1", "Order Fulfilled", "a"))
    assert [w.step for w in store.waits_for("c1", "o1", "Order Fulfilled")] == ["b"]


def test_early_events_come_back_in_the_order_they_happened(store):
    def early(event_id: str, hours: int) -> EarlyEvent:
        at = T0 + timedelta(hours=hours)
        event = InboundEvent(
            event_id=event_id,
            source="shop",
            detail_type=DetailType.ORDER_FULFILLED,
            received_at=at,
            detail=OrderFulfilledV1(order_id="o1", customer_id="c1", fulfilled_at=at),
        )
        return EarlyEvent(order_id="o1", event=event, kept_at=at)

    late, soon = early("e-late", 5), early("e-soon", 1)
    store.keep_early(late)
    store.keep_early(soon)
    assert [e.event.event_id for e in store.early_events("o1")] == ["e-soon", "e-late"]
    store.forget_early(soon)
    assert store.early_events("o1") == [late]


def test_phones_and_calendars(store):
    store.link_phone("+34600000001", "c1")
    assert store.customer_by_phone("+34600000001") == "c1"
    store.unlink_phone("+34600000001", "c2")  # not theirs: kept
    store.unlink_phone("+34600000001", "c1")
    assert store.customer_by_phone("+34600000001") is None
    store.move_calendar("c1", "Europe/Madrid", set(), {"birthday#03-04"})
    store.move_calendar("c2", "UTC", set(), {"birthday#03-04"})
    assert store.calendar("birthday#03-04") == [("c1", "Europe/Madrid"), ("c2", "UTC")]
    store.move_calendar("c1", "Europe/Madrid", {"birthday#03-04"}, {"birthday#07-01"})
    assert store.calendar("birthday#03-04") == [("c2", "UTC")]


def test_erasing_a_customer_leaves_nothing_of_them(store):
    placed = store.place_order(order(), profile(orders_count=1), None)
    assert isinstance(placed, CustomerProfile)
    store.save_message(message(status=MessageStatus.SENT))
    store.save_nps(NpsAnswer(customer_id="c1", score=3, at=T0))
    store.delete(store.keys_of("c1"))
    assert store.get_profile("c1") is None and store.get_order("o1") is None
    assert (store.messages_of("c1"), store.answers_of("c1"), store.orders_of("c1")) == ([], [], [])


def test_a_decided_winner_is_recorded_once_read_and_forgotten(store):
    first = DecidedWinner(experiment="win-back.offer", winner="b", decided_at=T0, reason="b beats a at 0.05")
    assert store.decided_winner("win-back.offer") is None
    store.record_winner(first)
    store.record_winner(first.model_copy(update={"winner": "a", "decided_at": T0 + timedelta(days=1)}))
    assert store.decided_winner("win-back.offer") == first  # the first decision stands
    assert store.forget_winner("win-back.offer") and store.decided_winner("win-back.offer") is None
    assert not store.forget_winner("win-back.offer")


def test_a_text_is_found_by_the_id_its_provider_answered_with_an_email_is_not(store):
    text = message("m1", channel="sms", status=MessageStatus.SENT, provider_message_id="sns-1")
    store.save_message(text)
    store.save_message(message("m2", channel="email", status=MessageStatus.SENT, provider_message_id="ses-1"))
    assert store.text_by_provider_id("sns-1") == text
    assert store.text_by_provider_id("ses-1") is None
    assert store.text_by_provider_id("unknown") is None
    delivered = text.model_copy(update={"delivered_at": T0})
    store.save_message(delivered)
    assert store.text_by_provider_id("sns-1") == delivered
    orders = store.orders_of("c1")  # the index's other use is untouched
    assert orders == []


def test_an_inbox_card_is_kept_once_and_read_once(store):
    card = InboxCard(
        message_id="m1",
        customer_id="c1",
        journey="post-purchase",
        step="product_tips",
        title="Tips",
        text="Keep the care card",
        marketing=True,
        sent_at=T0,
    )
    assert store.put_card(card) is True
    assert store.put_card(card.model_copy(update={"title": "again"})) is False
    assert store.cards_of("c1") == [card] and store.cards_of("c2") == []
    assert store.mark_read("c1", "m1", T0 + timedelta(hours=1)) is True
    assert store.mark_read("c1", "m1", T0 + timedelta(hours=2)) is False  # the first read stands
    assert store.mark_read("c1", "unknown", T0) is False and store.cards_of("c1")[
        0
    ].read_at == T0 + timedelta(hours=1)


def test_the_shops_opens_are_counted_by_hour(store):
    assert store.shop_open_hours() == []  # none yet
    for hour in (19, 19, 7):
        store.count_open_hour(hour)
    counts = store.shop_open_hours()
    assert len(counts) == 24 and (counts[19], counts[7], sum(counts)) == (2, 1, 3)
