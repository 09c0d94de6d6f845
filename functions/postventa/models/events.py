"""Postventa's own event contract (detail-types on the custom bus), version 1.

Every detail model is versioned by its ``schema_version`` field; a breaking change adds a
V2 model beside the V1 one instead of editing it. ``postventa schemas export`` writes the
JSON Schema of each into events/schemas/.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from postventa.models.common import (
    Amount,
    CurrencyCode,
    Day,
    ExternalId,
    Moment,
    Money,
    TimezoneName,
    WebLink,
)


class DetailType(StrEnum):
    ORDER_PLACED = "Order Placed"
    ORDER_FULFILLED = "Order Fulfilled"
    ORDER_REFUNDED = "Order Refunded"
    ORDER_CANCELLED = "Order Cancelled"
    CUSTOMER_UPDATED = "Customer Updated"
    OCCASION_REACHED = "Occasion Reached"
    SURVEY_ANSWERED = "Survey Answered"
    SUPPORT_CASE_OPENED = "Support Case Opened"
    SUPPORT_CASE_CLOSED = "Support Case Closed"
    CUSTOMER_ERASURE_REQUESTED = "Customer Erasure Requested"
    CUSTOMER_DATA_REQUESTED = "Customer Data Requested"
    CHECKOUT_STARTED = "Checkout Started"
    # Not on the bus: on_engagement resumes wait_for_event steps awaiting an open or click itself,
    # and on_engagement (a hard bounce) or on_sms_status (the carrier's refusal) one awaiting a
    # message that will never arrive: a journey's fallback to the next channel.
    MESSAGE_OPENED = "Message Opened"
    MESSAGE_CLICKED = "Message Clicked"
    MESSAGE_UNDELIVERED = "Message Undelivered"


OURS = frozenset(DetailType)  # Postventa's own detail-types, as a shop's event names are checked against

# A shop's own detail-type (models/custom.py), e.g. Back In Stock: words starting in capitals.
CUSTOM_EVENT_NAME = r"^[A-Z][A-Za-z0-9]*( [A-Z0-9][A-Za-z0-9]*){0,7}$"


def _event_name(name: str) -> str:
    if name in OURS:
        return DetailType(name)
    if not re.fullmatch(CUSTOM_EVENT_NAME, name):
        raise ValueError(
            f"{name!r} is neither one of Postventa's events ({', '.join(DetailType)}) nor the name "
            "of one a shop declares (words each starting in a capital, e.g. Back In Stock)"
        )
    return name


# An event a journey can start on, end on or wait for: one of ours (a DetailType), or one the
# shop declared (journeys/library.py checks it is).
EventName = Annotated[str, AfterValidator(_event_name)]
# A customer attribute's value as it travels and is kept; its type is declared (models/custom.py).
AttributeValue = str | int | float | bool | None


class Occasion(StrEnum):
    BIRTHDAY = "birthday"
    FIRST_ORDER_ANNIVERSARY = "first_order_anniversary"
    INACTIVE = "inactive"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    # The app's own inbox (cards the app fetches): named by a step, never a choice in the
    # preference centre nor a "preferred" channel; every app user has one.
    INBOX = "inbox"


# What a customer may choose, and order, to be reached on.
ChoosableChannel = Literal[Channel.EMAIL, Channel.SMS, Channel.PUSH]


class PushPlatform(StrEnum):
    APNS = "APNS"
    FCM = "FCM"


class ConsentState(StrEnum):
    SUBSCRIBED = "subscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    UNSUBSCRIBED = "unsubscribed"


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CustomerV1(_Detail):
    id: ExternalId
    email: EmailStr | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = Field(default=None, description="BCP 47 tag, e.g. en or es-MX")
    timezone: TimezoneName | None = Field(default=None, description="IANA name, e.g. America/Chicago")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    birthday: Day | None = None
    email_marketing: ConsentState | None = Field(
        default=None, description="Consent to marketing email; None keeps what is stored"
    )
    sms_marketing: ConsentState | None = Field(default=None, description="Consent to marketing SMS")
    sms_transactional: ConsentState | None = Field(
        default=None, description="Consent to order updates by SMS (marketing consent implies it)"
    )
    push_marketing: ConsentState | None = Field(default=None, description="Consent to marketing push")
    push_tokens: list[PushTokenV1] | None = Field(
        default=None, description="The customer's app installations; replaces what is stored"
    )
    channels: list[ChoosableChannel] | None = Field(
        default=None, description="The channels the customer chose, in order of preference"
    )
    consent_updated_at: Moment | None = Field(
        default=None,
        description="When the consent and channel choices stated here were given; default: the "
        "event's own time. An older statement never overrides a newer one.",
    )
    attributes: dict[str, AttributeValue] | None = Field(
        default=None,
        description="The shop's own fields, as declared in its postventa.yaml (customer_attributes): "
        "each one stated replaces what is kept, null removes it",
    )


class PushTokenV1(_Detail):
    platform: PushPlatform
    token: str = Field(min_length=8, max_length=4096)


class LineItemV1(_Detail):
    sku: str | None = None
    product_id: ExternalId | None = None
    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    unit_price: Money
    categories: list[str] = Field(default_factory=list)


class OrderPlacedV1(_Detail):
    schema_version: Literal["1"] = "1"
    order_id: ExternalId
    order_number: str | None = Field(default=None, description="What the customer sees, e.g. #1001")
    placed_at: Moment
    customer: CustomerV1
    currency: CurrencyCode
    total: Money
    items: list[LineItemV1] = Field(min_length=1)
    status_url: WebLink | None = None
    test: bool = Field(
        default=False, description="A test order (Shopify's test: true): starts no journey by default"
    )
    cancelled_at: Moment | None = Field(
        default=None,
        description="Set when the order was cancelled before it was announced: starts no journey",
    )


class OrderFulfilledV1(_Detail):
    schema_version: Literal["1"] = "1"
    order_id: ExternalId
    customer_id: ExternalId | None = Field(default=None, description="Looked up from the order if absent")
    fulfilled_at: Moment
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: WebLink | None = None


class OrderRefundedV1(_Detail):
    schema_version: Literal["1"] = "1"
    order_id: ExternalId
    customer_id: ExternalId | None = None
    refunded_at: Moment
    refund_id: ExternalId | None = Field(
        default=None, description="Identifies the refund: the same refund delivered again is counted once"
    )
    amount: Annotated[Money | Amount | None, Field(union_mode="left_to_right")] = Field(
        default=None,
        description="What was refunded, or a bare amount in the order's currency; absent: the whole order",
    )


class OrderCancelledV1(_Detail):
    schema_version: Literal["1"] = "1"
    order_id: ExternalId
    customer_id: ExternalId | None = None
    cancelled_at: Moment
    reason: str | None = None


class CustomerUpdatedV1(_Detail):
    schema_version: Literal["1"] = "1"
    customer: CustomerV1
    updated_at: Moment


class OccasionReachedV1(_Detail):
    """Published by Postventa's own occasions schedule: a customer's date is today in their timezone."""

    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    occasion: Occasion
    occasion_id: str = Field(
        description="Unique per customer and occasion, e.g. birthday-2026 or inactive-90-2026-05-01"
    )
    reached_at: Moment
    days: int | None = Field(default=None, description="For inactive: days since the last order")


class SurveyAnsweredV1(_Detail):
    """An NPS answer: from the survey email's signed score links, or sent by the storefront."""

    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    score: int = Field(ge=0, le=10)
    answered_at: Moment
    message_id: str | None = Field(default=None, description="The survey message answered, when known")


class SupportCaseOpenedV1(_Detail):
    """From the help desk: while any case is open, the customer gets no marketing."""

    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    case_id: ExternalId
    opened_at: Moment


class SupportCaseClosedV1(_Detail):
    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    case_id: ExternalId
    closed_at: Moment


class CustomerErasureRequestedV1(_Detail):
    """The customer asked to be forgotten (a storefront, a help desk, Shopify's customers/redact):
    everything Postventa keeps about them is deleted and their running journeys stopped."""

    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    requested_at: Moment


class CustomerDataRequestedV1(_Detail):
    """The customer asked what is kept about them (Shopify's customers/data_request): everything
    is written as JSON to the archive bucket, under exports/, for the shop to send them."""

    schema_version: Literal["1"] = "1"
    customer_id: ExternalId
    request_id: ExternalId
    requested_at: Moment


class CheckoutStartedV1(_Detail):
    """A shopper gave their contact details at checkout and has not paid (yet): Shopify's
    checkouts/create and checkouts/update. Nothing of it is stored but the shopper's profile; a
    journey it starts carries it and reads the cart from it (event.*)."""

    schema_version: Literal["1"] = "1"
    checkout_id: ExternalId = Field(
        description="Unique per checkout; Shopify: its token, which the order made from it carries "
        "as checkout_token"
    )
    customer: CustomerV1
    started_at: Moment
    currency: CurrencyCode
    total: Money
    items: list[LineItemV1] = Field(min_length=1)
    recovery_url: WebLink | None = Field(
        default=None, description="Where the shopper picks the checkout up again, cart and all"
    )
    completed_at: Moment | None = Field(
        default=None, description="Set once paid: starts nothing, the order follows as Order Placed"
    )


class CustomEventV1(_Detail):
    """An event the shop declared (models/custom.py), validated against its declaration: who,
    when, the order if any, and its properties as fields of their own (event.<property>)."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    customer: CustomerV1
    occurred_at: Moment
    order_id: ExternalId | None = None
    occurrence_id: str = Field(description="The declaration's key values, or the event's id")


OrderEventDetail = OrderPlacedV1 | OrderFulfilledV1 | OrderRefundedV1 | OrderCancelledV1
EventDetail = (
    OrderEventDetail
    | CustomerUpdatedV1
    | OccasionReachedV1
    | SurveyAnsweredV1
    | SupportCaseOpenedV1
    | SupportCaseClosedV1
    | CustomerErasureRequestedV1
    | CustomerDataRequestedV1
    | CheckoutStartedV1
    | CustomEventV1  # last: it admits extra fields
)

DETAIL_MODELS: dict[DetailType, type[_Detail]] = {
    DetailType.ORDER_PLACED: OrderPlacedV1,
    DetailType.ORDER_FULFILLED: OrderFulfilledV1,
    DetailType.ORDER_REFUNDED: OrderRefundedV1,
    DetailType.ORDER_CANCELLED: OrderCancelledV1,
    DetailType.CUSTOMER_UPDATED: CustomerUpdatedV1,
    DetailType.OCCASION_REACHED: OccasionReachedV1,
    DetailType.SURVEY_ANSWERED: SurveyAnsweredV1,
    DetailType.SUPPORT_CASE_OPENED: SupportCaseOpenedV1,
    DetailType.SUPPORT_CASE_CLOSED: SupportCaseClosedV1,
    DetailType.CUSTOMER_ERASURE_REQUESTED: CustomerErasureRequestedV1,
    DetailType.CUSTOMER_DATA_REQUESTED: CustomerDataRequestedV1,
    DetailType.CHECKOUT_STARTED: CheckoutStartedV1,
}
# Events not kept in the store: a journey they start carries their detail in its input, and its
# conditions and templates read it as event.*
CARRIED_IN_JOURNEY = frozenset({DetailType.CHECKOUT_STARTED})


def carried_in_journey(event: str) -> bool:
    """Whether a journey started by this event carries it: ours the store does not keep, and
    every event a shop declared."""
    return event in CARRIED_IN_JOURNEY or event not in OURS


class InboundEvent(BaseModel):
    """One event from either contract, normalized: what on_order decides on."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    event_id: str
    source: str
    detail_type: EventName
    received_at: Moment
    detail: Annotated[EventDetail, Field(union_mode="left_to_right")]

    @property
    def order_id(self) -> str | None:
        return getattr(self.detail, "order_id", None)

    @property
    def trigger_id(self) -> str:
        """What makes an entry unique: a declared event's occurrence (whatever its properties are
        called), the order, the checkout, the occasion, the survey answered, or else the event
        itself (a survey answered again, or changed, starts its follow-up once)."""
        if isinstance(self.detail, CustomEventV1):
            return self.detail.occurrence_id
        return (
            self.order_id
            or getattr(self.detail, "checkout_id", None)
            or getattr(self.detail, "occasion_id", None)
            or getattr(self.detail, "message_id", None)
            or self.event_id
        )

    @property
    def properties(self) -> dict[str, Any]:
        """A declared event's properties, as JSON values (what `same` compares); none for ours."""
        if not isinstance(self.detail, CustomEventV1):
            return {}
        return self.detail.model_extra or {}

    @property
    def customer_id(self) -> str | None:
        customer = getattr(self.detail, "customer", None)
        return customer.id if customer else getattr(self.detail, "customer_id", None)
