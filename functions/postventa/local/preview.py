"""postventa journeys preview: the timeline one customer would get from one journey.

The customer file holds the customer and, for order-triggered journeys, the order:
  {"customer": {...as in Order Placed...}, "order": {"order_id", "placed_at", "currency", "total", "items"},
   "fulfilled_after_days": 2, "earlier_orders": [{...}, ...], "events": [{...}, ...]}
earlier_orders (placed before the order, each as Order Placed) preview a journey on a later order;
events (EventBridge events as the bus carries them) one started, ended or resumed by any other event,
e.g. a checkout or an event the shop declared.
It becomes the events that journey listens to, played through `simulate` with that journey alone.
Nobody opens or clicks in a preview: branches on engagement take their `otherwise` path.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from postventa.journeys.library import Library
from postventa.journeys.model import Journey
from postventa.local.simulate import SimulationResult, run_simulation
from postventa.logic.occasions import next_occasion
from postventa.models.common import Money
from postventa.models.events import CustomerV1, DetailType, LineItemV1, Occasion, OrderPlacedV1
from postventa.models.records import CustomerProfile


class PreviewOrder(BaseModel):
    order_id: str = "PREVIEW-1"
    order_number: str | None = "#PREVIEW"
    placed_at: AwareDatetime
    currency: str = "USD"
    total: Money
    items: list[LineItemV1] = Field(min_length=1)

    def placed(self, customer: CustomerV1) -> OrderPlacedV1:
        return OrderPlacedV1(
            order_id=self.order_id,
            order_number=self.order_number,
            placed_at=self.placed_at,
            customer=customer,
            currency=self.currency,
            total=self.total,
            items=self.items,
        )


class PreviewCustomer(BaseModel):
    customer: CustomerV1
    earlier_orders: list[PreviewOrder] = Field(
        default_factory=list, description="placed before `order`: for journeys on a second or third order"
    )
    order: PreviewOrder | None = None
    fulfilled_after_days: float | None = 2
    events: list[dict[str, Any]] = Field(
        default_factory=list,
        description="further events as the bus carries them: what starts a journey on a checkout "
        "or on an event the shop declared, and what ends or resumes it",
    )


def _envelope(event_id: str, detail_type: str, time: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "postventa.preview",
        "account": "000000000000",
        "time": time.isoformat(),
        "region": "local",
        "resources": [],
        "detail": detail,
    }


def _placed(event_id: str, order: PreviewOrder, customer: CustomerV1) -> dict[str, Any]:
    placed = order.placed(customer)
    return _envelope(event_id, DetailType.ORDER_PLACED, order.placed_at, placed.model_dump(mode="json"))


def preview_events(journey: Journey, spec: PreviewCustomer, now: datetime) -> list[dict[str, Any]]:
    events = [
        _placed(f"preview-earlier-{number}", earlier, spec.customer)
        for number, earlier in enumerate(spec.earlier_orders, 1)
    ]
    order = spec.order
    if order is not None:
        events.append(_placed("preview-order", order, spec.customer))
        if spec.fulfilled_after_days is not None:
            at = order.placed_at + timedelta(days=spec.fulfilled_after_days)
            detail = {"order_id": order.order_id, "fulfilled_at": at.isoformat()}
            events.append(_envelope("preview-fulfilled", DetailType.ORDER_FULFILLED, at, detail))
    trigger = journey.trigger
    if trigger.occasion is not None:
        events.append(_occasion(trigger.occasion, trigger.days, spec, now))
    events += spec.events
    if journey.carries_trigger and not any(e.get("detail-type") == trigger.event for e in spec.events):
        raise ValueError(f"{journey.name} starts on {trigger.event}: put one in the customer file's events")
    return events


def _occasion(occasion: Occasion, days: int | None, spec: PreviewCustomer, now: datetime) -> dict[str, Any]:
    """When the occasions schedule would find the occasion due for this customer (logic/occasions)."""
    if occasion is Occasion.BIRTHDAY and spec.customer.birthday is None:
        raise ValueError("a birthday journey needs customer.birthday in the customer file")
    if occasion is not Occasion.BIRTHDAY and spec.order is None:
        raise ValueError(f"an {occasion.value} journey needs the customer's order in the customer file")
    placed = spec.order.placed_at if spec.order else None
    profile = CustomerProfile(
        customer_id=spec.customer.id,
        birthday=spec.customer.birthday,
        timezone=spec.customer.timezone,
        first_order_at=placed,
        last_order_at=placed,
        updated_at=now,
    )
    reached = next_occasion(profile, occasion, now, "UTC", [days] if days else [])
    if reached is None:
        raise ValueError(f"no {occasion.value} within the preview's horizon")
    detail = reached.model_dump(mode="json") | {"occasion_id": f"preview-{occasion.value}"}
    return _envelope("preview-occasion", DetailType.OCCASION_REACHED, reached.reached_at, detail)


def preview(
    journey: Journey, path: Path, now: datetime, library: Library | None = None, outbox: Path | None = None
) -> SimulationResult:
    """`now` matters only without an order: otherwise the preview starts from the order's time.
    library: where the journey's templates are found. outbox: where to write its messages."""
    spec = PreviewCustomer.model_validate(json.loads(path.read_text(encoding="utf-8")))
    times = [datetime.fromisoformat(event["time"]) for event in spec.events if "time" in event]
    start = spec.order.placed_at if spec.order else min(times, default=now)
    events = preview_events(journey, spec, start)
    return run_simulation(events, {journey.name: journey}, library=library, outbox=outbox)
