"""Which journeys an event enters or ends, and the deterministic names that make entry happen once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from postventa.journeys.model import EntryRule, ExitGoal, Journey, WaitStep, WaitUntilStep
from postventa.logic.conditions import all_hold
from postventa.logic.facts import facts
from postventa.logic.schedule import end_of_wait, timestamp
from postventa.logic.send_time import SendTimes
from postventa.models.events import InboundEvent, SurveyAnsweredV1
from postventa.models.records import CustomerProfile, JourneyEntry, NpsAnswer, OrderRecord


@dataclass(frozen=True)
class JourneyStart:
    journey: Journey
    trigger_id: str
    execution_name: str
    execution_input: dict[str, Any]
    refused: str | None = None  # why this customer may not enter now (re-entry too soon)
    matched: dict[str, str] = field(default_factory=dict)  # what the exit goals' `same` compares


def execution_name(journey: Journey, customer_id: str, trigger_id: str) -> str:
    """Same journey, version, customer and trigger: same name, so Step Functions refuses a second run.

    Ids are hashed: execution names are limited to 80 characters of a small alphabet and are
    visible in the console, where an email-derived id would not belong.
    """
    digest = hashlib.sha256(
        f"{journey.name}|{journey.version}|{customer_id}|{trigger_id}".encode()
    ).hexdigest()
    return f"{journey.name}-v{journey.version}-{digest[:32]}"


def reentry_refusal(
    journey: Journey, entries: Iterable[JourneyEntry], now: datetime, trigger_id: str | None = None
) -> str | None:
    """Why the customer may not enter again yet, if the journey spaces its entries. An entry for the
    same trigger is not a re-entry but a duplicate, which the entry claim answers."""
    if journey.reentry_after is None:
        return None
    previous = [e.entered_at for e in entries if e.journey == journey.name and e.trigger_id != trigger_id]
    if previous and now - max(previous) < journey.reentry_after:
        return (
            f"entered {(now - max(previous)).days} days ago; re-entry after {journey.reentry_after.days} days"
        )
    return None


def entry_schedule(
    journey: Journey,
    context: Mapping[str, Any],
    now: datetime,
    default_timezone: str,
    send_times: SendTimes,
) -> dict[str, str]:
    """The ends of the waits fixed at entry (Journey.scheduled_at_entry), so each costs one Wait state.
    A date-based wait counts from the entry; a time-of-day one among the leading waits from the end
    of the waits before it, as it would if run_step computed it when reached."""
    ends = {
        step.id: end_of_wait(step.wait_until, context, now, default_timezone, send_times)
        for step in journey.all_steps()
        if isinstance(step, WaitUntilStep) and step.wait_until.date_field
    }
    clock = now
    for step in journey.leading_waits():
        if isinstance(step, WaitStep):
            clock += step.wait
        elif step.id in ends:
            clock = max(clock, ends[step.id])  # a date already past ends the wait at once
        else:
            clock = ends[step.id] = end_of_wait(step.wait_until, context, clock, default_timezone, send_times)
    return {step_id: timestamp(end) for step_id, end in ends.items()}


def journeys_to_enter(
    event: InboundEvent,
    journeys: Iterable[Journey],
    profile: CustomerProfile,
    order: OrderRecord | None,
    entries: Iterable[JourneyEntry] = (),
    default_timezone: str = "UTC",
    *,
    send_times: SendTimes,
) -> list[JourneyStart]:
    matching = [journey for journey in journeys if journey.trigger.matches(event.detail_type, event.detail)]
    if not matching:
        return []  # most events start nothing: no facts to build
    answer = event.detail
    nps = (
        NpsAnswer(customer_id=profile.customer_id, score=answer.score, at=answer.answered_at)
        if isinstance(answer, SurveyAnsweredV1)
        else None
    )
    # Conditions read event.* only in journeys whose trigger the store does not keep. Who it is
    # about is on the profile (customer.*): the execution's input holds no contact details.
    detail = (
        event.detail.model_dump(mode="json", exclude={"customer"})
        if any(j.carries_trigger for j in matching)
        else None
    )
    context = facts(profile=profile, order=order, nps=nps, trigger=detail, now=event.received_at)
    starts = []
    for journey in matching:
        if not all_hold(journey.trigger.conditions, context):
            continue
        trigger_id = "customer" if journey.entry is EntryRule.ONCE_PER_CUSTOMER else event.trigger_id
        starts.append(
            JourneyStart(
                journey=journey,
                trigger_id=trigger_id,
                execution_name=execution_name(journey, profile.customer_id, trigger_id),
                execution_input={
                    "journey": journey.name,
                    "version": journey.version,
                    "customer_id": profile.customer_id,
                    "order_id": event.order_id,
                    "trigger_event_id": event.event_id,
                    "schedule": entry_schedule(
                        journey, context, event.received_at, default_timezone, send_times
                    ),
                    **({"trigger": detail} if journey.carries_trigger else {}),
                },
                refused=reentry_refusal(journey, entries, event.received_at, trigger_id),
                matched=same_values(journey.matched_at_entry(), detail or {}),
            )
        )
    return starts


def journeys_to_exit(
    event: InboundEvent, journeys: Iterable[Journey], partial_refund: bool = False
) -> list[tuple[Journey, ExitGoal]]:
    """Journeys this event is an exit goal of, with the goal (same order only? a conversion?).
    A partial refund reaches only the goals that say so."""
    exits = []
    for journey in journeys:
        goal = journey.exits_on(event.detail_type)
        if goal is not None and (goal.partial_refund or not partial_refund):
            exits.append((journey, goal))
    return exits


def reaches_goal(event: InboundEvent, journey: Journey, goal: ExitGoal, entry: JourneyEntry) -> bool:
    """Whether this event ends this entry: same_order, only the entry's own order; otherwise any
    other (an entry without an order: any at all). Never the occurrence that started the entry,
    delivered again (a journey that exits on a newer event of its own kind)."""
    if event.detail_type == journey.trigger.event and entry.trigger_id == event.trigger_id:
        return False
    if goal.same:
        kept = {name: entry.matched[name] for name in goal.same if name in entry.matched}
        if same_values(goal.same, event.properties) != kept:
            return False  # another subscription's, say
    if goal.same_order:
        return entry.order_id == event.order_id
    return entry.order_id is None or entry.order_id != event.order_id


def same_values(names: Iterable[str], detail: Mapping[str, Any]) -> dict[str, str]:
    """An event's values of the properties `same` compares, as text (absent ones are left out)."""
    return {name: str(detail[name]) for name in names if detail.get(name) is not None}
