"""The event contract: every fixture and published sample parses; bad input gets a clear reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from postventa.journeys.library import Library
from postventa.models.common import Money
from postventa.models.events import DETAIL_MODELS, ConsentState, DetailType, OrderPlacedV1
from postventa.models.inbound import InvalidEvent, parse_inbound
from postventa.models.schemas import export_schemas, schema_file_name
from tests.conftest import EVENTS, PUBLISHED, load_json, shopify_envelope

OURS = {
    "order-placed.json": DetailType.ORDER_PLACED,
    "order-fulfilled.json": DetailType.ORDER_FULFILLED,
    "order-refunded.json": DetailType.ORDER_REFUNDED,
    "order-cancelled.json": DetailType.ORDER_CANCELLED,
    "customer-updated.json": DetailType.CUSTOMER_UPDATED,
    "checkout-started.json": DetailType.CHECKOUT_STARTED,
}
SHOPIFY = {
    "orders-create.json": DetailType.ORDER_PLACED,
    "orders-fulfilled.json": DetailType.ORDER_FULFILLED,
    "orders-cancelled.json": DetailType.ORDER_CANCELLED,
    "refunds-create.json": DetailType.ORDER_REFUNDED,
    "customers-update.json": DetailType.CUSTOMER_UPDATED,
    "customers-marketing-consent-update.json": DetailType.CUSTOMER_UPDATED,
}


@pytest.mark.parametrize(("name", "detail_type"), OURS.items())
def test_our_samples_parse(name, detail_type):
    event = parse_inbound(load_json(EVENTS / name))
    assert event.detail_type is detail_type
    assert event.received_at.tzinfo is not None


@pytest.mark.parametrize(("name", "detail_type"), SHOPIFY.items())
def test_shopify_samples_normalize_into_our_contract(name, detail_type):
    event = parse_inbound(load_json(EVENTS / "shopify" / name))
    assert event.detail_type is detail_type
    assert event.source.startswith("aws.partner/shopify.com/")


def test_order_placed_keeps_money_exact_and_items():
    detail = parse_inbound(load_json(EVENTS / "order-placed.json")).detail
    assert isinstance(detail, OrderPlacedV1)
    assert detail.total.amount == Decimal("158.00") and detail.total.currency == "EUR"
    assert [(item.name, item.quantity, item.unit_price.amount) for item in detail.items] == [
        ("Trail running shoes", 1, Decimal("129.00")),
        ("Merino socks", 2, Decimal("14.50")),
    ]


def test_shopify_ids_above_2_53_stay_exact():
    # Parsed from the raw JSON text as the Lambda runtime does: integers, never floats.
    raw = json.loads((EVENTS / "shopify" / "orders-create.json").read_text())
    event = parse_inbound(raw)
    assert event.detail.order_id == "9007199254740993123"
    assert event.detail.customer.id == "9007199254740993001"
    assert int(event.detail.order_id) == 9007199254740993123


def test_shopify_refund_sums_settled_refund_transactions():
    event = parse_inbound(load_json(EVENTS / "shopify" / "refunds-create.json"))
    assert event.detail.order_id == "9007199254740993123"
    assert event.detail.amount.amount == Decimal("89.99")
    assert event.customer_id is None  # looked up from the stored order


def test_shopify_consent_states_map_to_ours():
    event = parse_inbound(load_json(EVENTS / "shopify" / "customers-update.json"))
    assert event.detail.customer.email_marketing == "unsubscribed"
    assert event.detail.customer.sms_marketing is None  # not in the payload: what is stored stays


def test_shopify_sms_consent_change_becomes_a_customer_update():
    event = parse_inbound(load_json(EVENTS / "shopify" / "customers-marketing-consent-update.json"))
    customer = event.detail.customer
    assert (customer.id, customer.phone, customer.sms_marketing) == (
        "9007199254740993001",
        "+13125550123",
        "subscribed",
    )
    assert customer.email_marketing is None
    assert customer.consent_updated_at.isoformat() == "2026-03-09T04:30:00-05:00"  # when it was given


def test_shopify_email_consent_change_becomes_a_dated_customer_update():
    """Since API version 2025-01 customers/update carries no consent: this topic does."""
    envelope = load_json(EVENTS / "shopify" / "customers-email-marketing-consent-update.json")
    consent = envelope["detail"]["payload"]["email_marketing_consent"]
    consent.update(state="unsubscribed", consent_updated_at="2026-03-09T10:00:00Z")
    event = parse_inbound(envelope)
    assert event.detail_type is DetailType.CUSTOMER_UPDATED
    customer = event.detail.customer
    assert (customer.id, customer.email_marketing) == ("706405506930370000", "unsubscribed")
    assert customer.consent_updated_at.isoformat() == "2026-03-09T10:00:00+00:00"


def test_published_shopify_sms_consent_sample_keeps_what_is_stored():
    payload = load_json(PUBLISHED / "shopify_customers_marketing_consent_update.2026-04.json")
    event = parse_inbound(shopify_envelope("customers_marketing_consent/update", payload))
    assert event.detail_type is DetailType.CUSTOMER_UPDATED
    assert event.detail.customer.id == "706405506930370000"
    assert (event.detail.customer.phone, event.detail.customer.sms_marketing) == (None, None)


def test_published_shopify_order_sample_parses_in_the_partner_envelope():
    envelope = load_json(PUBLISHED / "shopify_eventbridge_envelope_products_update.json")
    envelope["detail"]["metadata"]["X-Shopify-Topic"] = "orders/create"
    envelope["detail"]["payload"] = load_json(PUBLISHED / "shopify_orders_create.2026-04.json")
    event = parse_inbound(envelope)
    assert event.detail.order_number == "#9999"
    assert event.detail.customer.email == "john@example.com"
    assert event.detail.total.amount == Decimal("414.95")  # current_total_price, after edits
    assert len(event.detail.items) == 5


@pytest.mark.parametrize("topic", ["checkouts/create", "checkouts/update"])
def test_published_shopify_checkout_samples_become_checkout_started(topic):
    envelope = load_json(PUBLISHED / "shopify_eventbridge_envelope_products_update.json")
    envelope["detail"]["metadata"]["X-Shopify-Topic"] = topic
    envelope["detail"]["payload"] = load_json(PUBLISHED / f"shopify_{topic.replace('/', '_')}.2026-04.json")
    event = parse_inbound(envelope)
    checkout = event.detail
    assert (event.detail_type, event.trigger_id, event.order_id) == (
        DetailType.CHECKOUT_STARTED,
        "123123123",  # the token: what the order made from it carries as checkout_token
        None,
    )
    assert (checkout.customer.id, checkout.customer.email, checkout.customer.country) == (
        "603851970716743400",
        "john@example.com",  # the customer's own address, over the one typed at checkout
        "CA",
    )
    assert checkout.customer.email_marketing is ConsentState.NOT_SUBSCRIBED  # the box left unticked
    assert checkout.started_at.isoformat() == "2021-12-31T19:00:00-05:00" and checkout.completed_at is None
    assert checkout.total == Money(amount=Decimal("421.88"), currency="USD")  # with tax
    assert [(i.sku, i.quantity, i.unit_price.amount) for i in checkout.items] == [
        ("IPOD2008PINK", 1, Decimal("199.00")),
        ("IPOD2008PINK", 1, Decimal("199.00")),
    ]
    assert checkout.recovery_url == (
        "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"
    )


def test_a_checkout_with_sms_marketing_ticked_states_the_number_and_consent():
    payload = load_json(PUBLISHED / "shopify_checkouts_create.2026-04.json")
    payload.update(buyer_accepts_sms_marketing=True, sms_marketing_phone="+16135550123")
    customer = parse_inbound(shopify_envelope("checkouts/create", payload)).detail.customer
    assert (customer.phone, customer.sms_marketing) == ("+16135550123", ConsentState.SUBSCRIBED)


def test_a_guest_checkout_is_the_same_customer_as_the_guest_order():
    checkout = load_json(PUBLISHED / "shopify_checkouts_create.2026-04.json")
    del checkout["customer"]
    order = load_json(EVENTS / "shopify" / "orders-create.json")["detail"]["payload"]
    del order["customer"]
    order["email"] = checkout["email"]
    ids = {
        parse_inbound(shopify_envelope(topic, payload)).customer_id
        for topic, payload in (("checkouts/create", checkout), ("orders/create", order))
    }
    assert len(ids) == 1 and ids.pop().startswith("guest-")


def test_published_shopify_envelope_with_an_unsupported_topic_is_refused():
    envelope = load_json(PUBLISHED / "shopify_eventbridge_envelope_products_update.json")
    with pytest.raises(InvalidEvent, match="X-Shopify-Topic must be one of"):
        parse_inbound(envelope)


def test_a_guest_order_gets_a_pseudonymous_customer_id():
    payload = load_json(EVENTS / "shopify" / "orders-create.json")["detail"]["payload"]
    del payload["customer"]
    event = parse_inbound(shopify_envelope("orders/create", payload))
    assert event.detail.customer.id.startswith("guest-")
    assert "ben" not in event.detail.customer.id


@pytest.mark.parametrize("path", sorted((EVENTS / "invalid").glob("*.json")), ids=lambda p: p.stem)
def test_invalid_events_say_which_field_and_why(path: Path):
    case = load_json(path)
    with pytest.raises(InvalidEvent) as refused:
        parse_inbound(case["event"])
    for fragment in case["expect"]:
        assert fragment in refused.value.reason


def test_exported_schemas_match_the_models(tmp_path):
    contract = Library().contract
    export_schemas(tmp_path, contract)
    for detail_type in [*DETAIL_MODELS, *contract.events]:
        name = schema_file_name(detail_type)
        assert (tmp_path / name).read_text() == (EVENTS / "schemas" / name).read_text(), (
            f"run make schemas ({name})"
        )
