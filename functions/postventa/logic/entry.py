"""Which journeys an event enters or ends, and the deterministic names that make entry happen once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from postventa.journeys.model import EntryRule, Journey
from postventa.logic.conditions import all_hold
from postventa.models.events import InboundEvent
from postventa.models.records import CustomerProfile, OrderRecord


@dataclass(frozen=True)
class JourneyStart:
    journey: Journey
    trigger_id: str
    execution_name: str
    execution_input: dict[str, Any]


def execution_name(journey: Journey, customer_id: str, trigger_id: str) -> str:
    """Same journey, version, customer and trigger: same name, so Step Functions refuses a second run.

    Ids are hashed: execution names are limited to 80 characters of a small alphabet and are
    visible in the console, where an email-derived id would not belong.
    """
    digest = hashlib.sha256(
        f"{journey.name}|{journey.version}|{customer_id}|{trigger_id}".encode()
    ).hexdigest()
    return f"{journey.name}-v{journey.version}-{digest[:32]}"


def decision_context(profile: CustomerProfile, order: OrderRecord | None) -> dict[str, Any]:
    """What conditions can refer to: customer.* and order.*."""
    return {
        "customer": profile.model_dump(mode="json"),
        "order": order.model_dump(mode="json") if order else {},
    }


def journeys_to_enter(
    event: InboundEvent, journeys: Iterable[Journey], profile: CustomerProfile, order: OrderRecord | None
) -> list[JourneyStart]:
    context = decision_context(profile, order)
    starts = []
    for journey in journeys:
        if journey.trigger.event != event.detail_type or not all_hold(journey.trigger.conditions, context):
            continue
        if journey.entry is EntryRule.ONCE_PER_CUSTOMER:
            trigger_id = "customer"
        else:
            trigger_id = event.order_id or event.event_id
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
                },
            )
        )
    return starts


def journeys_to_exit(event: InboundEvent, journeys: Iterable[Journey]) -> list[tuple[Journey, bool]]:
    """Journeys this event is an exit goal of, with whether the goal is limited to the same order."""
    exits = []
    for journey in journeys:
        goal = journey.exits_on(event.detail_type)
        if goal is not None:
            exits.append((journey, goal.same_order))
    return exits
