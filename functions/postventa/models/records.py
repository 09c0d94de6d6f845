"""What Postventa stores in DynamoDB, one model per item kind."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.models.common import Money
from postventa.models.events import ConsentState, CustomerV1, LineItemV1


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CustomerProfile(_Record):
    customer_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    timezone: str | None = None
    country: str | None = None
    email_marketing: ConsentState = ConsentState.NOT_SUBSCRIBED
    email_suppressed: str | None = Field(
        default=None, description="Why the address must not be mailed at all"
    )
    updated_at: AwareDatetime

    def merged_with(self, update: CustomerV1, at: AwareDatetime) -> CustomerProfile:
        """An update only overrides what it states; omitted fields keep what is stored."""
        changes = {
            field: value
            for field, value in update.model_dump(exclude={"id", "birthday"}).items()
            if value is not None
        }
        return self.model_copy(update={**changes, "updated_at": at})

    @classmethod
    def from_contract(cls, customer: CustomerV1, at: AwareDatetime) -> CustomerProfile:
        return cls(customer_id=customer.id, updated_at=at).merged_with(customer, at)


class OrderStatus(StrEnum):
    PLACED = "placed"
    FULFILLED = "fulfilled"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class OrderRecord(_Record):
    order_id: str
    customer_id: str
    order_number: str | None = None
    placed_at: AwareDatetime
    total: Money
    items: list[LineItemV1]
    status: OrderStatus = OrderStatus.PLACED
    status_url: str | None = None
    fulfilled_at: AwareDatetime | None = None
    tracking_url: str | None = None
    closed_at: AwareDatetime | None = Field(default=None, description="When it was refunded or cancelled")

    @property
    def is_closed(self) -> bool:
        return self.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


class JourneyEntry(_Record):
    """A customer's entry into a journey: claimed before the execution starts, so it happens once."""

    customer_id: str
    journey: str
    version: int
    trigger_id: str
    order_id: str | None
    execution_name: str
    execution_arn: str | None = None
    entered_at: AwareDatetime
    ended_reason: str | None = None


class MessageStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class MessageRecord(_Record):
    message_id: str
    customer_id: str
    order_id: str | None
    journey: str
    version: int
    step: str
    execution_id: str
    channel: str
    template: str
    purpose: str
    status: MessageStatus
    reason: str | None = None
    subject: str | None = None
    provider_message_id: str | None = None
    at: AwareDatetime


class PendingWait(_Record):
    """A journey parked on a wait_for_event step, resumed by the event with its task token."""

    customer_id: str
    order_id: str | None
    event: str
    execution_id: str
    step: str
    task_token: str
    registered_at: AwareDatetime


class Decision(_Record):
    """Something Postventa decided about an event, shown in simulate's timeline and logged in AWS."""

    at: AwareDatetime
    kind: str = Field(description="started, duplicate, ended, resumed, invalid, updated, ignored")
    customer_id: str | None = None
    journey: str | None = None
    order_id: str | None = None
    event_id: str | None = None
    reason: str | None = None
