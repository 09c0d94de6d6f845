"""The shop's own events and customer attributes, declared in its folder (postventa.yaml):

    events:
      - name: Back In Stock
        description: A product a shopper asked to hear about can be bought again
        properties:
          product_id: {type: text, required: true}
          product_name: {type: text, required: true}
          url: {type: url, required: true}
          price: money
          restock_id: {type: text, required: true}
        key: [product_id, restock_id]   # optional: what makes two deliveries one occurrence
    customer_attributes:
      plan: text
      renews_on: date

A declared event's detail on the bus is `customer` (at least its id), `occurred_at` (default: the
event's time), `order_id` when it concerns one, and the declared properties; anything else is
refused with its reason. Journeys it starts carry it (event.*); a customer's attributes come in
`customer.attributes` of any event and are kept on the profile (customer.attributes.*).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from postventa.models.common import Day, ExternalId, Moment, Money, WebLink
from postventa.models.events import CUSTOM_EVENT_NAME, OURS, CustomerV1, DetailType

PROPERTY_NAME = r"^[a-z][a-z0-9_]{0,63}$"
PropertyType = Literal["text", "number", "integer", "bool", "date", "datetime", "url", "money", "list"]
_TYPES: dict[str, Any] = {
    "text": str,
    "number": float,
    "integer": int,
    "bool": bool,
    "date": Day,
    "datetime": Moment,
    "url": WebLink,  # only http(s): a link in a message is never javascript: or data:
    "money": Money,
    "list": list[str],
}
# What every declared event's detail holds besides its properties.
ENVELOPE_FIELDS = ("customer", "occurred_at", "order_id")


class _Declared(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertySpec(_Declared):
    """`name: text` is shorthand for `name: {type: text}`."""

    type: PropertyType
    required: bool = False
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _type_shorthand(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data

    def annotation(self) -> tuple[Any, Any]:
        """The property's type and default as a pydantic field: absent is None unless required."""
        kind = _TYPES[self.type]
        return (kind, ...) if self.required else (kind | None, None)


def _property_names(properties: dict[str, PropertySpec], *, reserved: tuple[str, ...]) -> None:
    for name in properties:
        if not re.fullmatch(PROPERTY_NAME, name):
            raise ValueError(f"{name!r} is not a property name: lower case letters, digits and _")
        if name in reserved:
            raise ValueError(f"{name!r} is every event's own field: name the property otherwise")


class CustomEventDeclaration(_Declared):
    name: str = Field(pattern=CUSTOM_EVENT_NAME, description="The detail-type, e.g. Back In Stock")
    description: str = ""
    properties: dict[str, PropertySpec] = Field(default_factory=dict)
    key: list[str] = Field(
        default_factory=list,
        description="Properties whose values make one occurrence: the same values delivered again "
        "start nothing new (default: each event is its own occurrence)",
    )

    @field_validator("name")
    @classmethod
    def _not_ours(cls, name: str) -> str:
        if name in OURS:
            raise ValueError(f"{name!r} is one of Postventa's own events: name yours otherwise")
        return name

    @model_validator(mode="after")
    def _known_key(self) -> CustomEventDeclaration:
        _property_names(self.properties, reserved=ENVELOPE_FIELDS)
        for name in self.key:
            spec = self.properties.get(name)
            if spec is None or not spec.required:
                raise ValueError(f"key {name!r} must be a required property of {self.name}")
        return self

    @cached_property
    def model(self) -> type[CustomEventWire]:
        """The detail as the bus carries it, validated against the declaration."""
        fields = {name: spec.annotation() for name, spec in self.properties.items()}
        return create_model(  # type: ignore[call-overload, no-any-return]
            f"{self.name.title().replace(' ', '')}Detail",
            __base__=CustomEventWire,
            __doc__=self.description or f"{self.name}: an event the shop declared",
            **fields,
        )

    def occurrence(self, properties: dict[str, Any], event_id: str) -> str:
        """What makes an entry unique: the key's values, or the event itself."""
        if not self.key:
            return event_id
        return "|".join(f"{name}={properties[name]}" for name in self.key)


class CustomEventWire(BaseModel):
    """What every declared event's detail holds; each declaration adds its properties."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: CustomerV1 = Field(description="Who it is about: at least the id")
    occurred_at: Moment | None = Field(default=None, description="Default: the event's time")
    order_id: ExternalId | None = Field(
        default=None, description="The order it concerns, if any: same_order waits and exits match it"
    )


class CustomAttributes(_Declared):
    """customer_attributes in postventa.yaml: what `customer.attributes` may hold, and of what type."""

    attributes: dict[str, PropertySpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> CustomAttributes:
        _property_names(self.attributes, reserved=())
        for name, spec in self.attributes.items():
            if spec.type in ("money", "list"):
                raise ValueError(
                    f"attribute {name}: a customer attribute is text, a number, bool, date or url"
                )
        return self

    @cached_property
    def _model(self) -> type[BaseModel]:
        fields = {name: (spec.annotation()[0] | None, None) for name, spec in self.attributes.items()}
        return create_model(  # type: ignore[call-overload, no-any-return]
            "CustomerAttributes", __config__=ConfigDict(extra="forbid"), **fields
        )

    def checked(self, given: dict[str, Any]) -> dict[str, Any]:
        """The attributes as declared (JSON values; None removes one), or ValidationError naming each."""
        parsed = self._model.model_validate(given)
        return {name: value for name, value in parsed.model_dump(mode="json").items() if name in given}


@dataclass(frozen=True)
class ShopContract:
    """What the shop declared beyond Postventa's own contract: its events and customer attributes."""

    events: Mapping[str, CustomEventDeclaration] = field(default_factory=dict)
    attributes: CustomAttributes = field(default_factory=CustomAttributes)

    def detail_types(self) -> list[str]:
        """What the bus's rule passes to on_order: Postventa's own detail-types and the shop's."""
        return [*(member.value for member in DetailType), *self.events]


# Postventa's own contract alone: what a caller that knows no shop folder checks events against.
OURS_ALONE = ShopContract()
