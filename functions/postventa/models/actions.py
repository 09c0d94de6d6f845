"""What a journey's call step hands another system: one event on Postventa's bus, which the
destination's rule delivers to its EventBridge API destination as the request body."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.models.records import CustomerProfile, OrderRecord

ACTION_REQUESTED = "Action Requested"
ACTIONS_SOURCE = "postventa.actions"


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CallCustomer(_Action):
    id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, profile: CustomerProfile) -> CallCustomer:
        return cls(
            id=profile.customer_id,
            email=profile.email,
            phone=profile.phone,
            first_name=profile.first_name,
            last_name=profile.last_name,
            locale=profile.locale,
            country=profile.country,
        )


class CallNps(_Action):
    score: int
    band: str


class ActionRequestedV1(_Action):
    """The request body a destination receives. call_id is the same on every delivery of one
    step's call (EventBridge delivers at least once): a receiver deduplicates on it."""

    schema_version: Literal["1"] = "1"
    call_id: str
    destination: str
    journey: str
    version: int
    step: str
    requested_at: AwareDatetime
    customer: CallCustomer
    order: OrderRecord | None = Field(default=None, description="The order that started the journey")
    nps: CallNps | None = Field(default=None, description="The customer's latest survey answer")
    event: dict[str, Any] | None = Field(default=None, description="The event a journey carries (event.*)")
