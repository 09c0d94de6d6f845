"""Whether the event a journey is about to wait for has already happened."""

from __future__ import annotations

from collections.abc import Iterable

from postventa.journeys.model import Journey, WaitForEventStep
from postventa.models.events import DetailType
from postventa.models.records import OrderRecord, OrderStatus


def already_happened(event: str, order: OrderRecord | None) -> bool:
    if order is None:
        return False
    if event is DetailType.ORDER_FULFILLED:
        return order.fulfilled_at is not None
    if event is DetailType.ORDER_REFUNDED:
        return order.status is OrderStatus.REFUNDED
    if event is DetailType.ORDER_CANCELLED:
        return order.status is OrderStatus.CANCELLED
    return False


def events_awaited(journeys: Iterable[Journey]) -> frozenset[str]:
    """Event types some journey step waits for: only these need a look for parked journeys."""
    return frozenset(
        step.wait_for_event.event
        for journey in journeys
        for step in journey.all_steps()
        if isinstance(step, WaitForEventStep)
    )


def declared_events_awaited(journeys: Iterable[Journey]) -> dict[str, frozenset[str]]:
    """The shop's events some step waits for, each with the properties those waits compare
    (`same`): on_order notes each as it arrives, for a wait registered after it."""
    awaited: dict[str, set[str]] = {}
    for journey in journeys:
        for step in journey.all_steps():
            if isinstance(step, WaitForEventStep) and not isinstance(step.wait_for_event.event, DetailType):
                awaited.setdefault(str(step.wait_for_event.event), set()).update(step.wait_for_event.same)
    return {event: frozenset(names) for event, names in awaited.items()}
