"""Abandoned checkouts end to end against moto: Shopify's published checkouts/create and
checkouts/update through on_order, the default abandoned-checkout journey on the local engine,
and the order that ends it however the events arrive."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from postventa.journeys.library import Library
from postventa.local.simulate import LocalPostventa
from postventa.models.events import ConsentState
from postventa.models.records import MessageStatus
from postventa.models.shopify import guest_customer_id
from tests.conftest import PUBLISHED, load_json, shopify_envelope
from tests.integration.conftest import sent_emails

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; the default timezone is UTC
STARTED = "2026-03-02T09:00:00+00:00"
CUSTOMER = "603851970716743400"  # the published sample's id, as its scrape left it


@pytest.fixture
def local():
    library = Library()
    journeys = {"abandoned-checkout": library.journeys()["abandoned-checkout"]}
    with LocalPostventa(journeys, start=START, library=library) as running:
        yield running


def checkout(topic: str = "checkouts/create", event_id: str = "checkout-1", **changes) -> dict:
    """Shopify's published checkout, started at 09:00 UTC by a shopper who ticked the marketing box."""
    payload = load_json(PUBLISHED / f"shopify_{topic.replace('/', '_')}.2026-04.json")
    payload.update({"created_at": STARTED, "updated_at": STARTED, "buyer_accepts_marketing": True} | changes)
    envelope = shopify_envelope(topic, payload, event_id)
    envelope["time"] = payload["updated_at"]
    return envelope


def order(at: str, event_id: str = "order-1", customer: dict | None = None) -> dict:
    payload = {
        "id": 820982911946154508,
        "name": "#9999",
        "email": "john@example.com",
        "checkout_token": "123123123",
        "created_at": at,
        "currency": "USD",
        "total_price": "421.88",
        "customer": customer or {"id": int(CUSTOMER), "email": "john@example.com", "first_name": "John"},
        "line_items": [{"title": "IPod Nano - 8GB", "quantity": 2, "price": "199.00"}],
    }
    envelope = shopify_envelope("orders/create", payload, event_id)
    envelope["time"] = at
    return envelope


def outcomes(local) -> list[tuple[str, str, str | None]]:
    return [(d.kind, d.journey or "-", d.reason) for d in local.decisions if d.kind != "sent"]


def test_a_checkout_left_gets_its_cart_an_hour_later_and_one_follow_up_the_next_day(local):
    local.deliver(checkout())
    profile = local.services.store.get_profile(CUSTOMER)
    assert (profile.email, profile.first_name, profile.email_marketing) == (
        "john@example.com",
        "John",
        ConsentState.SUBSCRIBED,  # the box ticked at checkout, stated without a time: fills a gap
    )
    assert local.services.store.orders_of(CUSTOMER) == []  # a checkout is no order
    local.engine.run_until(START + timedelta(days=3))

    reminder, follow_up = sent_emails()
    assert reminder.subject == "John, your cart is saved"
    # the cart as the shopper left it: two lines of one, the total with tax
    assert reminder.body.count("1 &times; IPod Nano - 8GB") == 2 and "$421.88" in reminder.body
    assert (
        'href="https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"'
        in reminder.body
    )
    assert follow_up.subject == "Still thinking about your IPod Nano - 8GB?"
    sent = {m.step: m for m in local.services.store.messages_of(CUSTOMER)}
    assert {step: (m.status, m.sent_at) for step, m in sent.items()} == {
        "reminder": (MessageStatus.SENT, START + timedelta(hours=2)),
        "follow_up": (MessageStatus.SENT, START + timedelta(days=1, hours=2)),
    }


def test_an_order_ends_the_journey_as_a_recovery_and_nothing_more_is_sent(local):
    local.deliver(checkout())
    local.deliver(checkout("checkouts/update", "checkout-2", updated_at="2026-03-02T09:05:00+00:00"))
    local.engine.run_until(START + timedelta(hours=2, minutes=30))  # the reminder went at 10:00
    local.deliver(order("2026-03-02T11:00:00+00:00"))
    local.engine.run_until(START + timedelta(days=3))

    assert [m.subject for m in sent_emails()] == ["John, your cart is saved"]
    assert outcomes(local) == [
        ("started", "abandoned-checkout", None),
        ("duplicate", "abandoned-checkout", "already entered for 123123123"),  # the update: same checkout
        ("converted", "abandoned-checkout", "goal reached: Order Placed"),
    ]
    (entry,) = local.services.store.entries_of(CUSTOMER)
    assert entry.converted and entry.trigger_id == "123123123"


def test_the_hour_counts_from_the_checkout_not_from_its_late_event(local):
    late = checkout()
    late["time"] = "2026-03-02T09:40:00+00:00"  # delivered 40 minutes after the shopper left
    local.deliver(late)
    local.engine.run_until(START + timedelta(hours=3))
    (reminder,) = local.services.store.messages_of(CUSTOMER)
    assert reminder.sent_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # started 09:00, plus the hour


def test_a_checkout_arriving_after_its_order_starts_nothing(local):
    """EventBridge does not promise order: the order came first."""
    local.deliver(order("2026-03-02T09:30:00+00:00"))
    late = checkout()
    late["time"] = "2026-03-02T09:31:00+00:00"
    local.deliver(late)
    local.engine.run_until(START + timedelta(days=3))
    assert sent_emails() == []
    assert outcomes(local)[-1] == ("ignored", "-", "ordered since the checkout started")


def test_a_completed_checkout_starts_nothing(local):
    local.deliver(checkout("checkouts/update", completed_at="2026-03-02T09:20:00+00:00"))
    local.engine.run_until(START + timedelta(days=3))
    assert sent_emails() == [] and local.engine.executions == {}
    assert outcomes(local) == [("ignored", "-", "checkout completed: its order follows")]


def test_an_order_the_exit_missed_still_stops_the_reminder(local):
    """The order and the checkout applied at once, each before the other's write: the entry
    missed the order, the exit missed the entry. The send itself looks at the profile."""
    local.deliver(checkout())
    store = local.services.store
    profile = store.get_profile(CUSTOMER)
    ordered = profile.model_copy(update={"last_order_at": datetime(2026, 3, 2, 9, 10, tzinfo=UTC)})
    store.save_profile(ordered, profile)
    local.engine.run_until(START + timedelta(days=3))
    assert sent_emails() == []
    reminder = {m.step: m for m in store.messages_of(CUSTOMER)}["reminder"]
    assert (reminder.status, reminder.reason) == (
        MessageStatus.SUPPRESSED,
        "ordered since the checkout started",
    )


def test_a_guest_checkout_and_its_guest_order_are_one_customer(local):
    guest = checkout(customer=None, email="guest@example.com")
    local.deliver(guest)
    guest_id = guest_customer_id("guest@example.com")
    assert local.services.store.get_profile(guest_id).email == "guest@example.com"
    placed = order("2026-03-02T09:40:00+00:00")
    del placed["detail"]["payload"]["customer"]
    placed["detail"]["payload"]["email"] = "guest@example.com"
    local.deliver(placed)
    local.engine.run_until(START + timedelta(days=3))
    assert sent_emails() == []
    assert outcomes(local)[-1] == ("converted", "abandoned-checkout", "goal reached: Order Placed")


def test_a_checkout_without_any_address_is_dead_lettered_with_its_reason(local):
    anonymous = checkout(customer=None, email=None)
    local.deliver(copy.deepcopy(anonymous))
    (dead,) = local.dead_letters()
    assert dead["MessageAttributes"]["reason"]["StringValue"] == (
        "detail.payload: a guest checkout needs an email: it has neither customer nor email"
    )
