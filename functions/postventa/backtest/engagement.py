"""The customers' side of a backtest: who opens and clicks what they were sent, and how they
answer a survey, drawn at the assumed rates and the same for the same message every run.

It stands in for the providers (a Sender): each message taken becomes the events SES would
publish for it (Send and Delivery, as the configuration set publishes them, then Open and Click)
at their times, which the replay hands to the very
EngagementService on_engagement runs, so branches read opens and clicks, and a
`wait_for_event: Message Clicked` resumes, as in production. A click on the survey is its
answer: a Survey Answered event at the click's time, as the preference centre publishes it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from postventa.backtest.assumptions import Assumptions, reading_hour
from postventa.logic.render import RenderedMessage
from postventa.logic.schedule import next_local_time
from postventa.logic.spread import fraction
from postventa.models.engagement import SesMail, SesRecord, SesTimestamped
from postventa.models.events import SurveyAnsweredV1
from postventa.models.tags import encode_tag_value

DELIVERED_AFTER = timedelta(seconds=5)
OPENED_AFTER, CLICKED_AFTER = timedelta(hours=2), timedelta(hours=2, minutes=5)
READ_AFTER = timedelta(minutes=5)  # arriving in the reading hour: read at once
SURVEY_TEMPLATE = "nps_survey"  # the template whose links are the 0-10 scores
SCORE_OF_BAND = {"promoter": 10, "passive": 8, "detractor": 3}

Reaction = SesRecord | SurveyAnsweredV1


@dataclass(order=True, frozen=True)
class _Pending:
    at: datetime
    sequence: int
    reaction: Reaction


class Customers:
    """A Sender whose recipients react later; `due` hands over the reactions in time order.

    The backtest's renderer puts the template's name in the subject (adapters/memory.py)."""

    def __init__(self, assumptions: Assumptions, clock: Callable[[], datetime]):
        self._assumptions = assumptions
        self._clock = clock
        self._pending: list[_Pending] = []
        self._sequence = itertools.count()
        self.sent = 0

    def send(self, *, to: Any, message: RenderedMessage, tags: dict[str, str]) -> str:
        self.sent += 1
        provider_id = f"backtest-{self.sent}"
        rates, sent_at = self._assumptions, self._clock()
        # One draw for both: below the click rate the customer clicked, and a click implies an open.
        draw = fraction("engagement", tags["message"])
        mail = SesMail(
            messageId=provider_id,
            timestamp=sent_at,
            tags={name: [encoded] for name, value in tags.items() if (encoded := encode_tag_value(value))},
        )
        # Every message is delivered (the history says nothing of bounces); each event is one more
        # on_engagement invocation, as deployed, and the cost counts it.
        self._later(sent_at, SesRecord(eventType="Send", mail=mail))
        delivered = sent_at + DELIVERED_AFTER
        self._later(
            delivered,
            SesRecord(eventType="Delivery", mail=mail, delivery=SesTimestamped(timestamp=delivered)),
        )
        factor, opened = self._timing(tags["customer"], delivered)
        if draw < rates.open_rate * factor:
            self._later(opened, SesRecord(eventType="Open", mail=mail, open=SesTimestamped(timestamp=opened)))
            if draw < rates.click_rate * factor:
                clicked = opened + CLICKED_AFTER - OPENED_AFTER
                self._later(
                    clicked, SesRecord(eventType="Click", mail=mail, click=SesTimestamped(timestamp=clicked))
                )
                if message.subject == SURVEY_TEMPLATE:
                    self._later(clicked, self._answer(tags["customer"], tags["message"], clicked))
        return provider_id

    def _timing(self, customer_id: str, delivered: datetime) -> tuple[float, datetime]:
        """How much likelier the message is read for arriving when it did, and when it is read:
        two hours on, or (reading_hour_lift) in the customer's reading hour, likelier when it
        arrives in that hour or the one before."""
        lift = self._assumptions.reading_hour_lift
        if not lift:
            return 1.0, delivered - DELIVERED_AFTER + OPENED_AFTER
        zone, hour = ZoneInfo(self._assumptions.timezone), reading_hour(customer_id)
        arrived = delivered.astimezone(zone).hour
        if arrived == hour:
            opened = delivered + READ_AFTER
        else:
            minute = int(fraction("reading minute", customer_id) * 60)
            opened = next_local_time(delivered, zone, time(hour, minute))
        return (1 + lift if arrived in (hour, (hour - 1) % 24) else 1.0), opened

    def _answer(self, customer_id: str, message_id: str, at: datetime) -> SurveyAnsweredV1:
        rates, draw = self._assumptions, fraction("score", message_id)
        band = (
            "promoter"
            if draw < rates.promoter_share
            else "detractor"
            if draw < rates.promoter_share + rates.detractor_share
            else "passive"
        )
        return SurveyAnsweredV1(
            customer_id=customer_id, score=SCORE_OF_BAND[band], answered_at=at, message_id=message_id
        )

    def _later(self, at: datetime, reaction: Reaction) -> None:
        heapq.heappush(self._pending, _Pending(at, next(self._sequence), reaction))

    @property
    def next_at(self) -> datetime | None:
        return self._pending[0].at if self._pending else None

    def due(self, until: datetime) -> list[Reaction]:
        """The reactions up to `until`, oldest first, handed over once."""
        reactions = []
        while self._pending and self._pending[0].at <= until:
            reactions.append(heapq.heappop(self._pending).reaction)
        return reactions
