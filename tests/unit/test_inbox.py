"""The app inbox's endpoint logic: the shop backend's signature, newest cards first, read once."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from postventa.models.inbox import CardsAsked, CardsRead
from postventa.models.records import InboxCard
from postventa.services.inbox import AppInbox, NotSignedIn, inbox_signature

KEY = "shop-backend-key"
START = datetime(2026, 3, 7, 9, tzinfo=UTC)


class Cards:
    def __init__(self) -> None:
        self.cards: dict[tuple[str, str], InboxCard] = {}

    def put_card(self, card: InboxCard) -> bool:
        return self.cards.setdefault((card.customer_id, card.message_id), card) is card

    def cards_of(self, customer_id: str) -> list[InboxCard]:
        return [card for (customer, _), card in self.cards.items() if customer == customer_id]

    def mark_read(self, customer_id: str, message_id: str, at: datetime) -> bool:
        card = self.cards.get((customer_id, message_id))
        if card is None or card.read_at is not None:
            return False
        self.cards[customer_id, message_id] = card.model_copy(update={"read_at": at})
        return True


def card(message_id: str, hours: int, customer_id: str = "cus-gus") -> InboxCard:
    return InboxCard(
        message_id=message_id,
        customer_id=customer_id,
        journey="post-purchase",
        step="product_tips",
        title=f"Card {message_id}",
        text="Tips",
        marketing=True,
        sent_at=START + timedelta(hours=hours),
    )


@pytest.fixture
def inbox():
    cards, opened = Cards(), []
    for stored in (card("m1", 0), card("m2", 5), card("m3", 2), card("other", 9, "cus-ana")):
        cards.put_card(stored)
    return AppInbox(cards=cards, key=KEY, read_in_app=lambda *read: opened.append(read) or True), opened


def test_the_signature_is_the_hex_hmac_sha256_of_the_customer_id():
    expected = hmac.new(KEY.encode(), b"cus-gus", hashlib.sha256).hexdigest()
    assert inbox_signature(KEY, "cus-gus") == expected


def test_cards_come_newest_first_with_the_count_of_all_unread(inbox):
    app, _ = inbox
    view = app.cards("cus-gus", inbox_signature(KEY, "cus-gus"), CardsAsked(limit=2))
    assert [c.message_id for c in view.cards] == ["m2", "m3"]  # another customer's card is not there
    assert view.unread == 3


@pytest.mark.parametrize(
    ("customer", "signature"),
    [
        ("cus-gus", inbox_signature(KEY, "cus-ana")),  # another customer's signature
        ("cus-gus", inbox_signature("another key", "cus-gus")),
        ("cus-gus", ""),
        ("cus-gus", "é" * 64),  # not even hex
        ("", inbox_signature(KEY, "")),
    ],
)
def test_a_request_not_signed_for_the_customer_reads_and_changes_nothing(inbox, customer, signature):
    app, opened = inbox
    with pytest.raises(NotSignedIn):
        app.cards(customer, signature, CardsAsked())
    with pytest.raises(NotSignedIn):
        app.read(customer, signature, CardsRead(message_ids=["m1"]), START)
    assert opened == []


def test_reading_marks_each_card_once_and_opens_its_message(inbox):
    app, opened = inbox
    signed = inbox_signature(KEY, "cus-gus")
    at = START + timedelta(hours=8)
    done = app.read("cus-gus", signed.upper(), CardsRead(message_ids=["m1", "m1", "other", "nope"]), at)
    assert done.read == ["m1"]  # another customer's card and an unknown id are left alone
    assert opened == [("cus-gus", "m1", at)]
    assert app.read("cus-gus", signed, CardsRead(message_ids=["m1"]), at).read == []
    view = app.cards("cus-gus", signed, CardsAsked())
    assert {c.message_id: c.read_at for c in view.cards}["m1"] == at
    assert view.unread == 2


def test_what_the_app_asks_is_validated():
    with pytest.raises(ValueError, match="less than or equal to 100"):
        CardsAsked(limit=101)
    with pytest.raises(ValueError, match="at least 1 item"):
        CardsRead(message_ids=[])
