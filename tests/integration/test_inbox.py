"""The app inbox end to end against moto: a journey's card written by run_step, fetched and read
through the inbox's Lambda (API Gateway HTTP API events), the read recorded as the message's open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from postventa.local.faults import FaultInjector, PlacedFault
from postventa.local.simulate import LOCAL_INBOX_KEY, LocalPostventa
from postventa.local.web import http_api_event
from postventa.models.records import MessageStatus
from postventa.services.inbox import inbox_signature
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_emails

SIGNED_IN = {
    "X-Postventa-Customer": "cus-ana",
    "X-Postventa-Signature": inbox_signature(LOCAL_INBOX_KEY, "cus-ana"),
}


def with_the_app(order_placed: dict) -> dict:
    """Ana installs the app a minute after her order (Customer Updated, our contract)."""
    event = load_json(EVENTS / "customer-updated.json")
    event["time"] = "2026-03-02T09:16:00Z"
    event["detail"]["updated_at"] = event["time"]
    event["detail"]["customer"] = {"id": "cus-ana", "push_tokens": [{"platform": "APNS", "token": "a" * 64}]}
    return event


def ask(local, method: str, path: str, headers: dict, body: dict | None = None) -> tuple[int, dict]:
    raw = json.dumps(body).encode() if body is not None else b""
    answered = local.http(http_api_event(method, path, headers, raw, local.engine.now))
    return answered["statusCode"], json.loads(answered["body"])


@contextmanager
def tips_in_the_inbox(faults: FaultInjector | None = None) -> Iterator[LocalPostventa]:
    """The default library: post-purchase puts product tips in the inbox of customers with the app."""
    with LocalPostventa(start=T0, faults=faults) as running:
        placed = load_json(EVENTS / "order-placed.json")
        running.deliver(placed)
        running.deliver(with_the_app(placed))
        running.deliver(load_json(EVENTS / "order-fulfilled.json"))
        running.engine.run_until(running.engine.now + timedelta(days=4))
        yield running


@pytest.fixture
def local():
    with tips_in_the_inbox() as running:
        yield running


def test_a_card_reaches_the_app_and_its_reading_is_the_messages_open(local):
    tips = next(m for m in local.messages() if m.step == "product_tips")
    assert (tips.channel, tips.status, tips.opened_at) == ("inbox", MessageStatus.SENT, None)
    assert tips.provider_message_id == tips.message_id
    assert tips.delivered_at == tips.sent_at  # written in the app's inbox is delivered
    assert not any("Saca el máximo" in str(email) for email in sent_emails())  # not also by email

    status, listed = ask(local, "GET", "/inbox?limit=5", SIGNED_IN)
    assert status == 200 and listed["unread"] == 1
    (card,) = listed["cards"]
    assert (card["message_id"], card["title"], card["read_at"]) == (
        tips.message_id,
        "Saca el máximo partido a tu Trail running shoes",  # Ana reads Spanish, as in her email
        None,
    )
    assert "guarda la tarjeta de cuidados" in card["text"] and card["marketing"] is True

    status, read = ask(local, "POST", "/inbox/read", SIGNED_IN, {"message_ids": [tips.message_id]})
    assert (status, read) == (200, {"read": [tips.message_id]})
    opened = local.services.store.get_message("cus-ana", tips.message_id)
    assert opened.opened_at == local.engine.now.replace(microsecond=0)
    # read again (the app retried): nothing changes
    assert ask(local, "POST", "/inbox/read", SIGNED_IN, {"message_ids": [tips.message_id]})[1] == {"read": []}
    assert ask(local, "GET", "/inbox", SIGNED_IN)[1]["unread"] == 0


def test_a_request_not_signed_for_the_customer_is_refused(local):
    forged = {**SIGNED_IN, "X-Postventa-Signature": inbox_signature("not the key", "cus-ana")}
    assert ask(local, "GET", "/inbox", forged)[0] == 401
    tips = next(m for m in local.messages() if m.step == "product_tips")
    assert ask(local, "POST", "/inbox/read", forged, {"message_ids": [tips.message_id]})[0] == 401
    assert local.services.store.get_message("cus-ana", tips.message_id).opened_at is None
    status, problem = ask(local, "GET", "/inbox?limit=0", SIGNED_IN)
    assert status == 400 and "limit" in problem["error"]


def test_a_card_written_twice_is_kept_once(local):
    card = local.services.store.cards_of("cus-ana")[0]
    assert local.services.store.put_card(card.model_copy(update={"title": "again"})) is False
    assert [c.title for c in local.services.store.cards_of("cus-ana")] == [card.title]


@pytest.mark.parametrize("kind", ["crash_before", "server_error", "crash_after", "lost_answer"])
def test_a_fault_at_the_cards_write_neither_loses_the_card_nor_writes_it_twice(kind):
    """After the write (its answer lost, the invocation dead) the retry hands the card over again,
    as an email's, and the conditional write keeps the first: one card, the message sent."""
    card_write = PlacedFault("dynamodb.PutItem", kind, lambda params: '"INBOX#' in str(params.get("body")))
    faults = FaultInjector(rate=0.0, placed=[card_write])
    with tips_in_the_inbox(faults) as local:
        assert sum(faults.injected.values()) == 1
        tips = next(m for m in local.messages() if m.step == "product_tips")
        assert (tips.channel, tips.status, tips.reason) == ("inbox", MessageStatus.SENT, None)
        assert [c.message_id for c in local.services.store.cards_of("cus-ana")] == [tips.message_id]
        assert faults.handed_over[tips.message_id] == 1
        assert "FAILED" not in {e.status for e in local.engine.executions.values()}
