"""What conditions can refer to, built in one place for trigger filters and branches alike.

customer.*   the profile, with orders_count, first_order_at, last_order_at, total_spent, categories_bought,
             average_order_value, days_since_last_order, lifecycle (new, returning, vip, at_risk, lapsed)
             and the scoring job's predicted_value, p_alive, expected_purchases, expected_spend,
             next_purchase_expected, vip, early_vip, rfm
order.*      the order that started the journey; order.categories lists every category in it
journey.*    purchased_again (an order placed after the journey started), days_in_journey
message.<step>.{status, opened, clicked}   what became of this execution's messages
nps.{score, band}   the customer's latest survey answer (band: promoter 9-10, passive 7-8, detractor 0-6)
event.*      the event that started the journey, in journeys started by one the store does not
             keep (Checkout Started: event.items, event.total, event.recovery_url, ...) and by
             each event the shop declared (its properties, event.occurred_at, event.order_id); who it
             is about is customer.*
customer.attributes.*   the shop's own customer fields, as declared (customer_attributes)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel

from postventa.logic.segments import Lifecycle, lifecycle
from postventa.models.custom import ShopContract
from postventa.models.events import CARRIED_IN_JOURNEY, DETAIL_MODELS
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus, NpsAnswer, OrderRecord

FactKind = Literal["number", "text", "bool", "date", "list", "other"]
NPS_BANDS = ("promoter", "passive", "detractor")


@dataclass(frozen=True)
class FactField:
    """A field conditions may name: what kind of value it holds, and every value it can take."""

    kind: FactKind
    values: tuple[str, ...] | None = None


def _kind(annotation: Any) -> tuple[FactKind, tuple[str, ...] | None, type[BaseModel] | None]:
    """The kind of a model field's annotation (optional or not), its values, its nested model."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
        return _kind(annotation)
    if typing.get_origin(annotation) is list:
        return "list", None, None
    if annotation is AwareDatetime:
        return "date", None, None
    if not isinstance(annotation, type):
        return "other", None, None
    if issubclass(annotation, Enum):
        return "text", tuple(str(member.value) for member in annotation), None
    if issubclass(annotation, BaseModel):
        return "other", None, annotation
    kinds: list[tuple[tuple[type, ...], FactKind]] = [
        ((bool,), "bool"),  # before int: a bool is an int
        ((int, float, Decimal), "number"),
        ((date,), "date"),
        ((str,), "text"),
    ]
    return next((kind for base, kind in kinds if issubclass(annotation, base)), "other"), None, None


def _model_fields(prefix: str, model: type[BaseModel], exclude: str = "") -> dict[str, FactField]:
    known: dict[str, FactField] = {}
    for name, field in model.model_fields.items():
        if name == exclude:
            continue
        kind, values, nested = _kind(field.annotation)
        if nested is not None:
            known |= _model_fields(f"{prefix}.{name}", nested)
        else:
            known[f"{prefix}.{name}"] = FactField(kind, values)
    return known


# Every field of the context below, for the validator: what a condition can name besides
# message.<send step>.* (MESSAGE_FACTS).
FACT_FIELDS: dict[str, FactField] = {
    **_model_fields("customer", CustomerProfile),
    "customer.average_order_value": FactField("number"),
    "customer.days_since_last_order": FactField("number"),
    "customer.lifecycle": FactField("text", tuple(member.value for member in Lifecycle)),
    **_model_fields("order", OrderRecord),
    "order.categories": FactField("list"),
    "journey.purchased_again": FactField("bool"),
    "journey.days_in_journey": FactField("number"),
    "nps.score": FactField("number"),
    "nps.band": FactField("text", NPS_BANDS),
}
# What event.* holds in a journey started by each event the store does not keep.
TRIGGER_FACTS: dict[str, dict[str, FactField]] = {
    detail_type: _model_fields("event", DETAIL_MODELS[detail_type], exclude="customer")
    for detail_type in CARRIED_IN_JOURNEY
}


def declared_facts(contract: ShopContract, trigger: str | None) -> dict[str, FactField]:
    """What a journey started by `trigger` may name besides FACT_FIELDS: event.* of a carried
    trigger, ours or the shop's, and the shop's customer attributes."""
    declared = contract.events.get(trigger) if trigger else None
    carried = (
        _model_fields("event", declared.model, exclude="customer")
        if declared
        else TRIGGER_FACTS.get(trigger or "", {})
    )
    attributes = {
        f"customer.attributes.{name}": FactField(*_kind(spec.annotation()[0])[:2])
        for name, spec in contract.attributes.attributes.items()
    }
    return carried | attributes


MESSAGE_FACTS: dict[str, FactField] = {
    "status": FactField("text", tuple(member.value for member in MessageStatus)),
    "opened": FactField("bool"),
    "clicked": FactField("bool"),
}


def nps_band(score: int) -> str:
    promoter, passive, detractor = NPS_BANDS
    return promoter if score >= 9 else passive if score >= 7 else detractor


def _customer_facts(profile: CustomerProfile, now: datetime | None) -> dict[str, Any]:
    """The profile, and the segments it implies at `now` (idleness grows without any event)."""
    dumped = profile.model_dump(mode="json")
    count = profile.orders_count
    dumped["average_order_value"] = round(profile.total_spent / count, 2) if count else None
    if now is not None and profile.last_order_at is not None:
        dumped["days_since_last_order"] = (now - profile.last_order_at).days
        dumped["lifecycle"] = lifecycle(
            count, profile.last_order_at, profile.vip or profile.early_vip, now
        ).value
    return dumped


def _order_facts(order: OrderRecord | None) -> dict[str, Any]:
    if order is None:
        return {}
    dumped = order.model_dump(mode="json")
    dumped["categories"] = sorted({category for item in order.items for category in item.categories})
    return dumped


class Facts(Mapping[str, Any]):
    """The fact sections, each built on first use: most conditions read one section, many entries none."""

    def __init__(self, sections: dict[str, Callable[[], Any]]):
        self._sections = sections
        self._built: dict[str, Any] = {}

    def __getitem__(self, section: str) -> Any:
        if section not in self._built:
            self._built[section] = self._sections[section]()
        return self._built[section]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)


def facts(
    *,
    profile: CustomerProfile,
    order: OrderRecord | None,
    messages: Iterable[MessageRecord] = (),
    nps: NpsAnswer | None = None,
    trigger: dict[str, Any] | None = None,
    started_at: datetime | None = None,
    now: datetime | None = None,
) -> Facts:
    def journey() -> dict[str, Any]:
        known: dict[str, Any] = {}
        if started_at is not None:
            last = profile.last_order_at
            known["purchased_again"] = (
                last is not None and last > started_at and (order is None or last != order.placed_at)
            )
            if now is not None:
                known["days_in_journey"] = (now - started_at).days
        return known

    return Facts(
        {
            "customer": lambda: _customer_facts(profile, now),
            "order": lambda: _order_facts(order),
            "journey": journey,
            "message": lambda: {
                m.step: {
                    "status": m.status.value,
                    "opened": m.opened_at is not None,
                    "clicked": m.clicked_at is not None,
                }
                for m in messages
            },
            "nps": lambda: {"score": nps.score, "band": nps_band(nps.score)} if nps else {},
            "event": lambda: trigger or {},
        }
    )
