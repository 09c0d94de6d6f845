"""Pure decisions: conditions, entry names, consent, message ids, signed links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from postventa.journeys.loader import load_journeys, parse_journey
from postventa.journeys.model import Condition, Phase, Purpose
from postventa.logic.channels import message_blocked_reason, route
from postventa.logic.conditions import all_hold, holds
from postventa.logic.entry import execution_name, journeys_to_enter, journeys_to_exit
from postventa.logic.links import InvalidLink, LinkSigner
from postventa.logic.messaging import message_id
from postventa.models.common import Money
from postventa.models.events import Channel, ConsentState, DetailType
from postventa.models.inbound import parse_inbound
from postventa.models.records import CustomerProfile, OrderRecord, OrderStatus
from postventa.models.tags import decode_tag_value, encode_tag_value
from tests.conftest import EVENTS, SEND_TIMES, load_json, phase1_journeys

NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
CONTEXT = {
    "customer": {"country": "ES", "tags": ["vip"]},
    "order": {"total": {"amount": "158.00"}, "count": 2},
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("order.total.amount", "gte", 100, True),
        ("order.total.amount", "lt", 100, False),
        ("order.total.amount", "eq", "158", True),
        ("customer.country", "in", ["ES", "MX"], True),
        ("customer.country", "not_in", ["ES"], False),
        ("customer.tags", "contains", "vip", True),
        ("customer.tags", "not_contains", "vip", False),
        ("customer.tags", "not_contains", "wholesale", True),
        ("customer.topics_unsubscribed", "not_contains", "offers", True),  # absent: nothing unsubscribed
        ("customer.birthday", "exists", False, True),
        ("customer.birthday", "ne", "x", True),
        ("customer.country", "gt", 3, False),  # a string is not comparable with a number: no match, no crash
    ],
)
def test_conditions(field, op, value, expected):
    assert holds(Condition(field=field, op=op, value=value), CONTEXT) is expected


def test_all_conditions_must_hold():
    conditions = [
        Condition(field="customer.country", op="eq", value="ES"),
        Condition(field="order.count", op="gt", value=5),
    ]
    assert all_hold(conditions, CONTEXT) is False
    assert all_hold([], CONTEXT) is True


def test_condition_values_are_validated():
    with pytest.raises(ValueError, match="needs a list value"):
        Condition(field="customer.country", op="in", value="ES")


def test_execution_names_are_deterministic_short_and_opaque():
    journey = phase1_journeys()["post-purchase"]
    name = execution_name(journey, "ana@example.com", "A-1001")
    assert name == execution_name(journey, "ana@example.com", "A-1001")
    assert name != execution_name(journey, "ana@example.com", "A-1002")
    assert len(name) <= 80 and name.startswith("post-purchase-v1-") and "@" not in name


def profile(**changes) -> CustomerProfile:
    base = CustomerProfile(
        customer_id="c1", email="c1@example.com", email_marketing=ConsentState.SUBSCRIBED, updated_at=NOW
    )
    return base.model_copy(update=changes)


def order(status=OrderStatus.PLACED) -> OrderRecord:
    return OrderRecord(
        order_id="o1",
        customer_id="c1",
        placed_at=NOW,
        total=Money(amount=Decimal(1), currency="USD"),
        items=[],
        status=status,
    )


@pytest.mark.parametrize(
    ("purpose", "changes", "order_status", "reason"),
    [
        (Purpose.MARKETING, {}, OrderStatus.PLACED, None),
        (
            Purpose.MARKETING,
            {"email_marketing": ConsentState.UNSUBSCRIBED},
            OrderStatus.PLACED,
            "email: unsubscribed from marketing email",
        ),
        (
            Purpose.MARKETING,
            {"email_marketing": ConsentState.NOT_SUBSCRIBED},
            OrderStatus.PLACED,
            "email: no consent to marketing email",
        ),
        (Purpose.TRANSACTIONAL, {"email_marketing": ConsentState.UNSUBSCRIBED}, OrderStatus.PLACED, None),
        (Purpose.TRANSACTIONAL, {"email": None}, OrderStatus.PLACED, "email: no email address"),
        (
            Purpose.TRANSACTIONAL,
            {"email_suppressed": "bounce"},
            OrderStatus.PLACED,
            "email: address on the suppression list (bounce)",
        ),
        (Purpose.MARKETING, {}, OrderStatus.REFUNDED, "order refunded"),
    ],
)
def test_email_suppression(purpose, changes, order_status, reason):
    customer = profile(**changes)
    blocked = message_blocked_reason(purpose, None, customer, order(order_status))
    assert (blocked or route([Channel.EMAIL], purpose, Phase.EMAIL, customer).reason) == reason


def test_a_checkout_journey_reads_the_cart_in_its_conditions_and_carries_it():
    journey = parse_journey(
        "name: big-carts\nversion: 1\ntrigger:\n  event: Checkout Started\n  conditions:\n"
        "    - {field: event.total.amount, op: gte, value: 100}\n"
        "steps:\n  - {id: reminder, send: {channel: email, template: cart_reminder, purpose: marketing}}\n",
        "big-carts.yaml",
    )
    event = load_json(EVENTS / "checkout-started.json")
    (start,) = journeys_to_enter(
        parse_inbound(event), [journey], profile(customer_id="cus-ana"), None, send_times=SEND_TIMES
    )
    assert (start.trigger_id, start.execution_input["order_id"]) == ("chk-7f3a91", None)
    assert start.execution_input["trigger"]["recovery_url"] == (
        "https://shop.example/checkouts/chk-7f3a91/recover?key=5c2e"
    )
    event["detail"]["total"]["amount"] = "99.99"
    assert (
        journeys_to_enter(
            parse_inbound(event), [journey], profile(customer_id="cus-ana"), None, send_times=SEND_TIMES
        )
        == []
    )


def test_message_id_is_stable_per_execution_and_step():
    assert message_id("exec-1", "a") == message_id("exec-1", "a")
    assert message_id("exec-1", "a") != message_id("exec-1", "b") != message_id("exec-2", "a")


def test_order_placed_enters_post_purchase_and_refund_exits_it():
    journeys = phase1_journeys().values()
    placed = parse_inbound(load_json(EVENTS / "order-placed.json"))
    starts = journeys_to_enter(placed, journeys, profile(customer_id="cus-ana"), None, send_times=SEND_TIMES)
    assert [(s.journey.name, s.trigger_id) for s in starts] == [("post-purchase", "A-1001")]
    assert starts[0].execution_input == {
        "journey": "post-purchase",
        "version": 1,
        "customer_id": "cus-ana",
        "order_id": "A-1001",
        "trigger_event_id": "evt-0001",
        "schedule": {},
    }
    refunded = parse_inbound(load_json(EVENTS / "order-refunded.json"))
    assert [(j.name, goal.same_order, goal.converts) for j, goal in journeys_to_exit(refunded, journeys)] == [
        ("post-purchase", True, False)
    ]
    assert (
        refunded.detail_type is DetailType.ORDER_REFUNDED
        and journeys_to_enter(refunded, journeys, profile(), None, send_times=SEND_TIMES) == []
    )


def test_signed_links_verify_and_refuse_tampering_and_age():
    signer = LinkSigner("secret", "https://shop.example/p/")
    link = signer.link("nps", c="c1", s=9)
    assert link.startswith("https://shop.example/p/nps?t=")
    token = link.split("t=", 1)[1]
    assert signer.verify(token, "nps")["s"] == 9
    with pytest.raises(InvalidLink, match="not valid"):
        # The payload's first character carries six significant bits: another one always changes the data.
        signer.verify(("B" if token[0] != "B" else "C") + token[1:], "nps")
    with pytest.raises(InvalidLink, match="not valid"):
        signer.verify(token, "unsubscribe")  # a survey link cannot unsubscribe
    with pytest.raises(InvalidLink, match="not valid"):
        LinkSigner("other-secret", "https://shop.example").verify(token, "nps")
    with pytest.raises(InvalidLink, match="expired"):
        signer.verify(token, "nps", max_age=-1)


def test_only_awaited_events_need_a_look_for_parked_journeys():
    from postventa.logic.waits import events_awaited

    assert events_awaited(load_journeys().values()) == {
        DetailType.ORDER_FULFILLED,
        DetailType.MESSAGE_UNDELIVERED,
        "Subscription Renewed",  # the shop's own (failed-payment)
    }


@pytest.mark.parametrize(
    "value",
    ["cus-ana", "9007199254740993001", "ana@shop.example", "gid://shopify/Customer/42", "b32-plain", "ñandú"],
)
def test_tag_values_come_back_exactly_as_sent_and_only_in_the_characters_ses_allows(value):
    encoded = encode_tag_value(value)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", encoded)
    assert decode_tag_value(encoded) == value
    assert (encoded == value) == (value in ("cus-ana", "9007199254740993001"))  # safe ids travel as they are


def test_a_tag_value_too_long_to_encode_is_left_off_rather_than_cut():
    assert encode_tag_value("@" * 200) is None
