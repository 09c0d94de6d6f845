"""The app inbox's endpoint: what the app sends and is sent (handlers/inbox.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from postventa.models.records import InboxCard

PAGE_SIZE = 20


class _Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CardsAsked(_Edge):
    """GET /inbox?limit=: the newest cards first."""

    limit: int = Field(default=PAGE_SIZE, ge=1, le=100)


class CardsRead(_Edge):
    """POST /inbox/read: the cards the customer saw."""

    message_ids: list[str] = Field(min_length=1, max_length=100)


class InboxView(_Edge):
    cards: list[InboxCard]
    unread: int = Field(description="Of all the customer's cards, not this page's only")


class ReadView(_Edge):
    read: list[str] = Field(description="The cards marked read now (not those read before)")
