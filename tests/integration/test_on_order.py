"""on_order against moto: state kept, journeys started once, invalid events dead-lettered with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from botocore.exceptions import ClientError

from postventa.logic.entry import execution_name
from postventa.models.common import Money
from postventa.models.events import ConsentState
from postventa.models.records import MessageStatus, OrderStatus
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import sent_emails


def test_order_placed_keeps_the_customer_and_order_and_starts_the_journey(local):
    response = local.deliver(load_json(EVENTS / "order-placed.json"))
    assert response == {"batchItemFailures": []}

    store = local.services.store
    profile = store.get_profile("cus-ana")
    assert (profile.email, profile.timezone, profile.email_marketing) == (
        "ana@example.com",
        "Europe/Madrid",
        ConsentState.SUBSCRIBED,
    )
    order = store.get_order("A-1001")
    assert (
        order.customer_id == "cus-ana"
        and order.total == Money(amount=Decimal("158.00"), currency="EUR")
        and len(order.items) == 2
    )
    assert [o.order_id for o in store.orders_of("cus-ana")] == ["A-1001"]

    journey = local.journeys["post-purchase"]
    executions = list(local.engine.executions.values())
    assert [e.name for e in executions] == [execution_name(journey, "cus-ana", "A-1001")]
    local.engine.run_until(local.engine.now)
    assert [(m.destinations["ToAddresses"], m.subject) for m in sent_emails()] == [
        (["ana@example.com"], "Gracias por tu pedido #1001, Ana")
    ]


def test_a_redelivered_event_starts_nothing_and_sends_nothing_twice(local):
    event = load_json(EVENTS / "order-placed.json")
    local.deliver(event)
    local.deliver(event)  # EventBridge delivers at least once: same event id
    local.engine.run_until(local.engine.now + timedelta(minutes=1))
    assert len(local.engine.executions) == 1
    assert len(sent_emails()) == 1
    assert [d.kind for d in local.decisions] == ["started", "duplicate"]


def test_the_same_order_under_a_new_event_id_enters_once(local):
    event = load_json(EVENTS / "order-placed.json")
    local.deliver(event)
    local.deliver({**event, "id": "evt-retry-from-storefront"})
    assert len(local.engine.executions) == 1
    assert [d.kind for d in local.decisions] == ["started", "duplicate"]
    assert local.decisions[1].reason == "already entered for A-1001"


def test_invalid_events_land_in_the_dead_letter_queue_with_their_reason(local):
    case = load_json(EVENTS / "invalid" / "naive-timestamp.json")
    response = local.deliver(case["event"])
    assert response == {"batchItemFailures": []}  # refused for good: not retried
    (dead,) = local.dead_letters()
    assert json.loads(dead["Body"]) == case["event"]
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert "detail.placed_at" in reason and "timezone" in reason
    assert local.services.store.get_order("A-1001") is None
    assert local.engine.executions == {}


def deliver_body(local, body: str) -> dict:
    """One SQS record with this body, straight to on_order: what no EventBridge event could be."""
    from postventa.local.simulate import _FakeLambdaContext

    record = {
        "messageId": "m1",
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    return local.lambdas["on_order"]({"Records": [record]}, _FakeLambdaContext("on-order"))


def test_a_body_that_is_not_json_is_dead_lettered_too(local):
    assert deliver_body(local, "{not json") == {"batchItemFailures": []}
    (dead,) = local.dead_letters()
    assert dead["Body"] == "{not json"
    assert dead["MessageAttributes"]["reason"]["StringValue"].startswith("event: not JSON")


def test_bodies_too_deep_or_too_large_for_any_event_are_dead_lettered_with_their_reason(local):
    placed = load_json(EVENTS / "order-placed.json")
    deep = json.dumps({**placed, "detail": {**placed["detail"], "note": "[" * 5000 + "]" * 5000}})
    deep = deep.replace('"[[[', "[[[", 1).replace(']]]"', "]]]", 1)  # a real 5,000-deep array
    large = json.dumps({**placed, "detail": {**placed["detail"], "note": "x" * 300_000}})
    for body in (deep, large):
        assert deliver_body(local, body) == {"batchItemFailures": []}
    reasons = [d["MessageAttributes"]["reason"]["StringValue"] for d in local.dead_letters()]
    assert reasons == [
        "event: nested deeper than 32 levels",
        f"event: {len(large)} bytes, over EventBridge's 262144",
    ]
    assert (
        local.services.store.get_order("A-1001") is None
        and local.services.store.get_profile("cus-ana") is None
    )


def test_a_refund_ends_the_journey_before_the_review_request(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))  # Ana, A-1001, 2026-03-02
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))  # 2026-03-04: tips due 03-07
    refund = load_json(EVENTS / "order-refunded.json")
    whole = {"amount": "158.00", "currency": "EUR"}
    local.deliver(
        {
            **refund,
            "time": "2026-03-08T10:00:00Z",
            "detail": {**refund["detail"], "order_id": "A-1001", "amount": whole},
        }
    )
    local.engine.run_until_idle()

    assert [m.step for m in local.messages()] == ["order_confirmation", "product_tips"]
    (execution,) = local.engine.executions.values()
    assert execution.status == "ABORTED"
    (entry,) = local.services.store.entries_of("cus-ana")
    assert entry.ended_reason == "exit goal: Order Refunded"
    assert local.services.store.get_order("A-1001").status is OrderStatus.REFUNDED


def test_a_shopify_refund_finds_its_customer_through_the_stored_order(local):
    local.deliver(load_json(EVENTS / "shopify" / "orders-create.json"))
    local.deliver(load_json(EVENTS / "shopify" / "refunds-create.json"))
    local.engine.run_until_idle()
    assert [d.kind for d in local.decisions] == ["started", "ended"]
    assert local.decisions[1].customer_id == "9007199254740993001"
    # Never fulfilled, refunded on day 5: no apology on day 14, nothing after the confirmation.
    assert [m.step for m in local.messages()] == ["order_confirmation"]


def test_fulfilment_resumes_the_waiting_journey(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()
    assert [m.step for m in local.messages()] == [
        "order_confirmation",
        "product_tips",
        "review_request",
        "nps_survey",
    ]
    at = {m.step: m.at for m in local.messages()}
    fulfilled = at["order_confirmation"].replace(day=4, hour=8, minute=30)
    assert at["product_tips"] == fulfilled + timedelta(days=3)
    assert at["review_request"] == at["product_tips"] + timedelta(days=7)
    assert at["nps_survey"] == at["review_request"] + timedelta(days=14)
    assert local.services.store.waits_for("cus-ana", "A-1001", "Order Fulfilled") == []


def test_every_new_order_keeps_the_customers_segments_current(local):
    first = load_json(EVENTS / "order-placed.json")
    second = load_json(EVENTS / "order-placed.json")
    second["id"], second["detail"]["order_id"] = "evt-second", "A-1002"
    second["detail"]["total"]["amount"] = "42.00"
    second["detail"]["items"] = [
        {
            "name": "Cap",
            "quantity": 1,
            "unit_price": {"amount": "42.00", "currency": "EUR"},
            "categories": ["hats"],
        }
    ]
    local.deliver(first)
    local.deliver(first)  # delivered again: counted once
    local.deliver(second)
    profile = local.services.store.get_profile("cus-ana")
    assert (profile.orders_count, profile.total_spent) == (2, 200.0)
    assert "hats" in profile.categories_bought and len(profile.categories_bought) >= 2


def test_an_older_consent_statement_delivered_late_never_undoes_an_unsubscribe(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    unsubscribed = load_json(EVENTS / "customer-updated.json")  # 2026-03-10 08:00: unsubscribed
    local.deliver(unsubscribed)
    older = json.loads(json.dumps(unsubscribed))
    older["id"] = "evt-late"
    older["detail"]["updated_at"] = "2026-03-09T08:00:00Z"  # stated a day before, delivered after
    older["detail"]["customer"]["email_marketing"] = "subscribed"
    local.receive(older)
    replayed = load_json(EVENTS / "order-placed.json")
    replayed["id"] = "shopify-retry"  # the same order again, its consent copied from before
    local.receive(replayed)
    profile = local.services.store.get_profile("cus-ana")
    assert profile.email_marketing is ConsentState.UNSUBSCRIBED
    assert profile.orders_count == 1


def test_an_order_delivered_again_while_its_first_attempt_failed_is_counted_once(local, monkeypatch):
    store = local.function_services["on_order"].store
    calendar = store.move_calendar
    # a 5xx after the order was written: SQS delivers the event again
    failures = iter(
        [
            ClientError(
                {"Error": {"Code": "InternalServerError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "BatchWriteItem",
            )
        ]
    )

    def fail_once(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return calendar(*args, **kwargs)

    monkeypatch.setattr(store, "move_calendar", fail_once)
    local.deliver(load_json(EVENTS / "order-placed.json"))
    assert next(failures, None) is None  # the first attempt did fail
    profile = store.get_profile("cus-ana")
    assert (profile.orders_count, len(store.orders_of("cus-ana"))) == (1, 1)
    assert local.dead_letters() == []
    assert [d.kind for d in local.decisions if d.kind == "started"] == ["started"]  # entered once


def refund_of(order_id: str, at: str, amount=None, refund_id=None, event_id="evt-refund") -> dict:
    refund = load_json(EVENTS / "order-refunded.json")
    detail = {"schema_version": "1", "order_id": order_id, "refunded_at": at, "amount": amount}
    if refund_id:
        detail["refund_id"] = refund_id
    return {**refund, "id": event_id, "time": at, "detail": detail}


def test_a_partial_refund_is_recorded_once_and_the_journey_goes_on(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))  # 158.00 EUR
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    socks = {"amount": "29.00", "currency": "EUR"}
    local.deliver(refund_of("A-1001", "2026-03-05T10:00:00Z", socks, refund_id="r-1"))
    local.deliver(refund_of("A-1001", "2026-03-05T10:05:00Z", socks, refund_id="r-1", event_id="evt-again"))
    local.engine.run_until_idle()

    order = local.services.store.get_order("A-1001")
    assert order.status is OrderStatus.FULFILLED and list(order.refunds) == ["r-1"]
    (entry,) = local.services.store.entries_of("cus-ana")
    assert entry.ended_reason is None
    assert [m.step for m in local.messages()] == [
        "order_confirmation",
        "product_tips",
        "review_request",
        "nps_survey",
    ]


def test_partial_refunds_that_add_up_to_the_order_end_its_journey(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))  # 158.00 EUR
    local.deliver(refund_of("A-1001", "2026-03-03T10:00:00Z", "100.00", refund_id="r-1"))  # order currency
    local.deliver(refund_of("A-1001", "2026-03-03T11:00:00Z", "58.00", refund_id="r-2", event_id="evt-r2"))
    local.engine.run_until_idle()
    order = local.services.store.get_order("A-1001")
    assert order.status is OrderStatus.REFUNDED and order.closed_at.hour == 11
    assert [m.step for m in local.messages()] == ["order_confirmation"]
    assert [d.kind for d in local.decisions] == ["started", "ended"]


def test_a_fulfilment_that_comes_before_its_order_is_kept_and_applied_when_the_order_arrives(local):
    placed = load_json(EVENTS / "order-placed.json")
    local.deliver({**load_json(EVENTS / "order-fulfilled.json"), "time": "2026-03-02T09:10:00Z"})
    assert [d.kind for d in local.decisions] == ["kept"]
    assert local.decisions[0].reason == "order not known yet: kept until 2026-04-01, applied when it arrives"
    local.deliver(placed)
    local.engine.run_until_idle()

    order = local.services.store.get_order("A-1001")
    assert order.status is OrderStatus.FULFILLED and order.fulfilled_at.day == 4
    assert local.services.store.early_events("A-1001") == []
    # The wait for the fulfilment finds it happened: tips, review and survey go out, no delay apology.
    assert [m.step for m in local.messages()] == [
        "order_confirmation",
        "product_tips",
        "review_request",
        "nps_survey",
    ]


def test_a_shopify_refund_that_comes_before_its_order_ends_the_journey_it_starts(local):
    local.deliver({**load_json(EVENTS / "shopify" / "refunds-create.json"), "time": "2026-03-04T09:00:00Z"})
    local.deliver(load_json(EVENTS / "shopify" / "orders-create.json"))
    local.engine.run_until_idle()
    assert [d.kind for d in local.decisions] == ["kept", "started", "ended"]
    assert local.messages() == []  # refunded before Postventa heard of it: nothing to confirm
    assert local.services.store.get_order("9007199254740993123").status is OrderStatus.REFUNDED


def test_a_shopify_refund_without_a_transaction_currency_is_read_in_the_order_currency(local):
    local.deliver(load_json(EVENTS / "shopify" / "orders-create.json"))
    refund = load_json(EVENTS / "shopify" / "refunds-create.json")
    (transaction,) = refund["detail"]["payload"]["transactions"]
    transaction.update(amount="10.00", currency=None)
    local.deliver(refund)
    order = local.services.store.get_order("9007199254740993123")
    assert order.refunds == {"509562969": Money(amount=Decimal("10.00"), currency=order.total.currency)}
    assert not order.is_closed


def test_shopify_test_orders_and_orders_cancelled_at_creation_start_nothing(local):
    placed = load_json(EVENTS / "shopify" / "orders-create.json")
    payload = placed["detail"]["payload"]
    local.deliver({**placed, "detail": {**placed["detail"], "payload": {**payload, "test": True}}})
    cancelled = {**payload, "id": 1, "cancelled_at": payload["created_at"], "cancel_reason": "fraud"}
    local.deliver({**placed, "id": "evt-2", "detail": {**placed["detail"], "payload": cancelled}})
    local.engine.run_until_idle()
    assert [(d.kind, d.reason) for d in local.decisions] == [
        ("ignored", "a test order (settings: test_orders_start_journeys)"),
        ("ignored", "cancelled before it was announced"),
    ]
    assert local.messages() == [] and local.engine.executions == {}
    assert local.services.store.get_profile(local.decisions[0].customer_id) is None


def test_a_message_held_for_quiet_hours_ends_suppressed_when_its_journey_is_stopped(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.deliver({**load_json(EVENTS / "order-fulfilled.json"), "time": "2026-03-04T22:00:00Z"})
    local.engine.run_until(datetime(2026, 3, 8, 1, 0, tzinfo=UTC))  # tips due 23:00 Madrid: held to 09:00
    tips = local.services.store.get_message("cus-ana", local.messages()[-1].message_id)
    assert (tips.step, tips.status) == ("product_tips", MessageStatus.DEFERRED)
    local.deliver(refund_of("A-1001", "2026-03-08T02:00:00Z"))  # the whole order, while it is held
    local.engine.run_until_idle()

    tips = local.services.store.get_message("cus-ana", tips.message_id)
    assert (tips.status, tips.reason) == (MessageStatus.SUPPRESSED, "exit goal: Order Refunded")
    assert [m.subject for m in sent_emails()] == ["Gracias por tu pedido #1001, Ana"]


def test_a_shopify_email_unsubscribe_stops_the_marketing_steps_of_a_running_journey(local):
    local.deliver(load_json(EVENTS / "shopify" / "orders-create.json"))  # Ben, subscribed
    local.deliver(load_json(EVENTS / "shopify" / "orders-fulfilled.json"))
    update = load_json(EVENTS / "shopify" / "customers-email-marketing-consent-update.json")
    payload = update["detail"]["payload"]
    payload.update(customer_id=9007199254740993001, email_address="ben@example.com")
    payload["email_marketing_consent"].update(state="unsubscribed", consent_updated_at="2026-03-05T10:00:00Z")
    local.deliver({**update, "time": "2026-03-05T10:00:05Z"})
    local.engine.run_until_idle()

    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [["ben@example.com"]]  # the receipt
    outcomes = {m.step: (m.status, m.reason) for m in local.messages()}
    assert outcomes["order_confirmation"][0] is MessageStatus.SENT
    assert {outcomes[step] for step in ("product_tips", "review_request", "nps_survey")} == {
        (MessageStatus.SUPPRESSED, "email: unsubscribed from marketing email")
    }
