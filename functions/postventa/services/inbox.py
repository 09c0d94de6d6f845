"""The app inbox's endpoint: the app asks for one customer's cards with the shop's word that the
customer is signed in to it. That word is identity verification, as chat and in-app messaging
SDKs take it: the shop's backend, which knows who signed in, gives the app the hex HMAC-SHA256 of
the customer's id under a key only it and Postventa hold; nobody else can make it for an id."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

from postventa.models.inbox import CardsAsked, CardsRead, InboxView, ReadView
from postventa.services.ports import InboxCards


class NotSignedIn(ValueError):
    pass


def inbox_signature(key: str, customer_id: str) -> str:
    return hmac.new(key.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


class AppInbox:
    def __init__(self, *, cards: InboxCards, key: str, read_in_app: Callable[[str, str, datetime], bool]):
        """key: the identity-verification key. read_in_app: records a card's message opened
        (EngagementService.read_in_app), before the card is marked read, so a retry still does."""
        self._cards = cards
        self._key = key
        self._read_in_app = read_in_app

    def cards(self, customer_id: str, signature: str, asked: CardsAsked) -> InboxView:
        self._verify(customer_id, signature)
        cards = sorted(
            self._cards.cards_of(customer_id), key=lambda card: (card.sent_at, card.message_id), reverse=True
        )
        return InboxView(
            cards=cards[: asked.limit],
            unread=sum(card.read_at is None for card in cards),
        )

    def read(self, customer_id: str, signature: str, read: CardsRead, at: datetime) -> ReadView:
        self._verify(customer_id, signature)
        unread = {card.message_id for card in self._cards.cards_of(customer_id) if card.read_at is None}
        newly = []
        for message_id in dict.fromkeys(read.message_ids):
            if message_id in unread:
                self._read_in_app(customer_id, message_id, at)
                if self._cards.mark_read(customer_id, message_id, at):
                    newly.append(message_id)
        return ReadView(read=newly)

    def _verify(self, customer_id: str, signature: str) -> None:
        expected = inbox_signature(self._key, customer_id).encode()
        if not customer_id or not hmac.compare_digest(expected, signature.lower().encode()):
            raise NotSignedIn("not signed in: the customer's signature does not match")
