"""Journeys that fight each other: steps whose messages the contact policy mostly drops, because
other journeys' messages took the customer's allowance first (a frequency cap, the daily ceiling).

Found from a short replay of a history (the shop's, or a generated one): every message the
journeys decided on, and for each one dropped, the journeys whose sends in the cap's window
took its place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.replay import replay
from postventa.journeys.model import Journey, Purpose
from postventa.logic.policy import CEILING, DAY, WEEK
from postventa.models.events import OrderPlacedV1
from postventa.models.records import MessageRecord, MessageStatus

FREQUENCY_CAP = "frequency cap"  # the reason's start for both caps (logic/policy.py)
MOSTLY = 0.5  # a step is flagged when more than this share of its messages is dropped
AT_LEAST = 10  # messages a step must decide on before its share means anything


@dataclass
class Collision:
    journey: str
    step: str
    decided: int = 0  # messages the step decided on
    dropped: int = 0  # by a frequency cap or the daily ceiling
    reasons: Counter[str] = field(default_factory=Counter)
    taken_by: Counter[str] = field(default_factory=Counter)  # journeys whose sends took the place

    @property
    def share(self) -> float:
        return self.dropped / self.decided if self.decided else 0.0

    def describe(self) -> str:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in self.reasons.most_common())
        taken = ", ".join(f"{journey} {count:,}" for journey, count in self.taken_by.most_common(3))
        return (
            f"{self.journey}, step {self.step}: {self.dropped:,} of {self.decided:,} messages "
            f"({self.share:.0%}) dropped by the contact policy ({reasons}); "
            f"their place taken by {taken or 'nobody (the step alone exceeds the cap)'}"
        )


def _window(reason: str) -> timedelta:
    return WEEK if reason.startswith(FREQUENCY_CAP) and reason.endswith("a week") else DAY


def find_collisions(
    messages: Iterable[MessageRecord], *, mostly: float = MOSTLY, at_least: int = AT_LEAST
) -> list[Collision]:
    """The steps of which more than `mostly` of the messages were dropped by the caps or the
    ceiling, worst first."""
    steps: dict[tuple[str, str], Collision] = {}
    sent: dict[str, list[MessageRecord]] = defaultdict(list)
    dropped: list[MessageRecord] = []
    for message in messages:
        collision = steps.setdefault(
            (message.journey, message.step), Collision(message.journey, message.step)
        )
        collision.decided += 1
        if message.status is MessageStatus.SENT:
            sent[message.customer_id].append(message)
        elif message.reason and message.reason.startswith((FREQUENCY_CAP, CEILING)):
            collision.dropped += 1
            collision.reasons[message.reason] += 1
            dropped.append(message)
    for message in dropped:
        window = _window(message.reason or "")
        marketing_only = (message.reason or "").startswith(FREQUENCY_CAP)
        earlier = {
            other.journey
            for other in sent[message.customer_id]
            if message.at - window < (other.sent_at or other.at) <= message.at
            and (not marketing_only or other.purpose == Purpose.MARKETING.value)
        }
        steps[(message.journey, message.step)].taken_by.update(earlier)
    flagged = [c for c in steps.values() if c.decided >= at_least and c.share > mostly]
    return sorted(flagged, key=lambda c: (-c.share, c.journey, c.step))


def collisions_in_replay(
    orders: list[OrderPlacedV1], journeys: dict[str, Journey], assumptions: Assumptions | None = None
) -> list[Collision]:
    """Replays the history (held in memory: a short one) and finds the collisions in it."""
    messages: list[MessageRecord] = []
    replay(
        orders,
        journeys,
        assumptions or Assumptions(),
        progress=lambda done: None,
        retired=lambda records: messages.extend(records.messages),
    )
    return find_collisions(messages)
