"""The app's inbox as a channel: the provider is Postventa's own table, where a card waits for
the app to fetch it (handlers/inbox.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from postventa.logic.render import RenderedMessage
from postventa.models.records import InboxCard
from postventa.services.ports import InboxCards


class InboxSender:
    def __init__(self, cards: InboxCards, clock: Callable[[], datetime]):
        self._cards = cards
        self._clock = clock

    def send(self, *, to: str, message: RenderedMessage, tags: dict[str, str]) -> str:
        """to: the customer's id. The card's id is the message's: one card, however often it is sent."""
        self._cards.put_card(
            InboxCard(
                message_id=tags["message"],
                customer_id=to,
                journey=tags["journey"],
                step=tags["step"],
                title=message.title or "",
                text=message.text,
                marketing=message.marketing,
                sent_at=self._clock(),
            )
        )
        return tags["message"]
