"""EventBridge envelopes for both contracts, parsed in one Powertools Parser call.

``parse_inbound`` turns a raw EventBridge event (ours or Shopify's partner source) into one
InboundEvent, or raises InvalidEvent naming each bad field and why.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from postventa.models.common import EARLIEST_YEAR, LATEST_YEAR
from postventa.models.custom import ENVELOPE_FIELDS, OURS_ALONE, ShopContract
from postventa.models.events import (
    CheckoutStartedV1,
    CustomerDataRequestedV1,
    CustomerErasureRequestedV1,
    CustomerUpdatedV1,
    CustomEventV1,
    DetailType,
    InboundEvent,
    OccasionReachedV1,
    OrderCancelledV1,
    OrderFulfilledV1,
    OrderPlacedV1,
    OrderRefundedV1,
    SupportCaseClosedV1,
    SupportCaseOpenedV1,
    SurveyAnsweredV1,
)
from postventa.models.shopify import ShopifyWebhookDetail

SHOPIFY_DETAIL_TYPE = "shopifyWebhook"
MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit: a larger body did not come from the bus
MAX_NESTING = 32  # deeper than any event of either contract; far deeper would exhaust the parser's stack


class InvalidEvent(ValueError):
    """The event can never be processed as sent; ``reason`` says which field and why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Envelope(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)  # built at first use, as every model base (records.py)


class OrderPlacedEvent(_Envelope):
    detail_type: Literal["Order Placed"] = Field(alias="detail-type")
    detail: OrderPlacedV1


class OrderFulfilledEvent(_Envelope):
    detail_type: Literal["Order Fulfilled"] = Field(alias="detail-type")
    detail: OrderFulfilledV1


class OrderRefundedEvent(_Envelope):
    detail_type: Literal["Order Refunded"] = Field(alias="detail-type")
    detail: OrderRefundedV1


class OrderCancelledEvent(_Envelope):
    detail_type: Literal["Order Cancelled"] = Field(alias="detail-type")
    detail: OrderCancelledV1


class CustomerUpdatedEvent(_Envelope):
    detail_type: Literal["Customer Updated"] = Field(alias="detail-type")
    detail: CustomerUpdatedV1


class OccasionReachedEvent(_Envelope):
    detail_type: Literal["Occasion Reached"] = Field(alias="detail-type")
    detail: OccasionReachedV1


class SurveyAnsweredEvent(_Envelope):
    detail_type: Literal["Survey Answered"] = Field(alias="detail-type")
    detail: SurveyAnsweredV1


class SupportCaseOpenedEvent(_Envelope):
    detail_type: Literal["Support Case Opened"] = Field(alias="detail-type")
    detail: SupportCaseOpenedV1


class SupportCaseClosedEvent(_Envelope):
    detail_type: Literal["Support Case Closed"] = Field(alias="detail-type")
    detail: SupportCaseClosedV1


class CustomerErasureRequestedEvent(_Envelope):
    detail_type: Literal["Customer Erasure Requested"] = Field(alias="detail-type")
    detail: CustomerErasureRequestedV1


class CustomerDataRequestedEvent(_Envelope):
    detail_type: Literal["Customer Data Requested"] = Field(alias="detail-type")
    detail: CustomerDataRequestedV1


class CheckoutStartedEvent(_Envelope):
    detail_type: Literal["Checkout Started"] = Field(alias="detail-type")
    detail: CheckoutStartedV1


class CustomEnvelope(_Envelope):
    """A shop's declared event: its detail is checked against the declaration."""

    detail: dict[str, Any]


class ShopifyWebhookEvent(_Envelope):
    detail_type: Literal["shopifyWebhook"] = Field(alias="detail-type")
    detail: ShopifyWebhookDetail


InboundEnvelope = Annotated[
    OrderPlacedEvent
    | OrderFulfilledEvent
    | OrderRefundedEvent
    | OrderCancelledEvent
    | CustomerUpdatedEvent
    | OccasionReachedEvent
    | SurveyAnsweredEvent
    | SupportCaseOpenedEvent
    | SupportCaseClosedEvent
    | CustomerErasureRequestedEvent
    | CustomerDataRequestedEvent
    | CheckoutStartedEvent
    | ShopifyWebhookEvent,
    Field(discriminator="detail_type"),
]


def describe_parse_error(error: ValueError) -> str:
    """Why a queued body is no event of ours: not JSON, or its problems (Powertools' parse wraps
    the ValidationError it met)."""
    cause = error if isinstance(error, ValidationError) else error.__cause__
    return describe_validation_error(cause) if isinstance(cause, ValidationError) else f"event: {error}"


def describe_validation_error(error: ValidationError, at: str = "") -> str:
    """One line per problem: the field's path in the event (under `at`), then why."""
    problems = []
    for item in error.errors(include_url=False):
        parts = [at] if at else []
        parts += [str(part) for part in item["loc"] if not str(part).startswith("function-")]
        path = ".".join(parts)
        problems.append(f"{path or 'event'}: {item['msg']}")
    return "; ".join(problems)


def load_event(body: str) -> Any:
    """The queued body as JSON, refused with its reason if no event could be that large or deep."""
    size = len(body.encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event: {size} bytes, over EventBridge's {MAX_EVENT_BYTES}")
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidEvent(f"event: not JSON ({error.msg} at position {error.pos})") from error
    except RecursionError as error:
        raise InvalidEvent(f"event: nested deeper than {MAX_NESTING} levels") from error
    if _nesting(raw) > MAX_NESTING:
        raise InvalidEvent(f"event: nested deeper than {MAX_NESTING} levels")
    return raw


def _nesting(value: Any) -> int:
    deepest, level = 0, [(value, 1)]
    while level:
        node, depth = level.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        level.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _parsed(raw: dict[str, Any], model: Any) -> Any:
    try:
        return parse(event=raw, model=model)
    except ValidationError as error:
        raise InvalidEvent(describe_validation_error(error)) from error
    except Exception as error:  # Powertools wraps validation errors in its own type
        cause = error.__cause__
        if isinstance(cause, ValidationError):
            raise InvalidEvent(describe_validation_error(cause)) from error
        raise InvalidEvent(f"event: {error}") from error


def parse_inbound(raw: Any, contract: ShopContract = OURS_ALONE) -> InboundEvent:
    """contract: the shop's own events and customer attributes, each checked as declared."""
    if not isinstance(raw, dict):
        raise InvalidEvent("event: expected a JSON object as EventBridge delivers it")
    declared = contract.events.get(str(raw.get("detail-type")))
    if declared is not None:
        envelope = _parsed(raw, CustomEnvelope)
        try:
            wire = declared.model.model_validate(envelope.detail)
        except ValidationError as error:
            raise InvalidEvent(
                f"{describe_validation_error(error, at='detail')} (as {declared.name} is declared)"
            ) from error
        properties = wire.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))
        detail: Any = CustomEventV1(
            customer=wire.customer,
            occurred_at=wire.occurred_at or envelope.time,
            order_id=wire.order_id,
            occurrence_id=declared.occurrence(properties, envelope.id),
            **properties,
        )
        return _inbound(envelope, declared.name, _with_attributes(detail, contract))
    envelope = _parsed(raw, InboundEnvelope)
    if isinstance(envelope, ShopifyWebhookEvent):
        try:
            detail = envelope.detail.to_contract(envelope.time)
        except (ValidationError, ValueError) as error:
            reason = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
            raise InvalidEvent(f"detail.payload: {reason}") from error
        topic = envelope.detail.metadata["X-Shopify-Topic"]
        detail_type = _SHOPIFY_TOPIC_TYPES[topic]
    else:
        detail = envelope.detail
        detail_type = DetailType(envelope.detail_type)
    return _inbound(envelope, detail_type, _with_attributes(detail, contract))


def _inbound(envelope: EventBridgeModel, detail_type: str, detail: Any) -> InboundEvent:
    if not EARLIEST_YEAR <= envelope.time.year <= LATEST_YEAR:
        raise InvalidEvent(f"time: year {envelope.time.year} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")
    return InboundEvent(
        event_id=envelope.id,
        source=envelope.source,
        detail_type=detail_type,
        received_at=envelope.time,
        detail=detail,
    )


def _with_attributes(detail: Any, contract: ShopContract) -> Any:
    """The customer's attributes as declared (customer_attributes), or the event refused."""
    customer = getattr(detail, "customer", None)
    if customer is None or not customer.attributes:
        return detail
    try:
        attributes = contract.attributes.checked(customer.attributes)
    except ValidationError as error:
        reasons = describe_validation_error(error, at="detail.customer.attributes")
        raise InvalidEvent(f"{reasons} (as customer_attributes are declared in postventa.yaml)") from error
    return detail.model_copy(update={"customer": customer.model_copy(update={"attributes": attributes})})


_SHOPIFY_TOPIC_TYPES = {
    "orders/create": DetailType.ORDER_PLACED,
    "orders/fulfilled": DetailType.ORDER_FULFILLED,
    "orders/cancelled": DetailType.ORDER_CANCELLED,
    "refunds/create": DetailType.ORDER_REFUNDED,
    "customers/update": DetailType.CUSTOMER_UPDATED,
    "customers_marketing_consent/update": DetailType.CUSTOMER_UPDATED,
    "customers_email_marketing_consent/update": DetailType.CUSTOMER_UPDATED,
    "customers/redact": DetailType.CUSTOMER_ERASURE_REQUESTED,
    "checkouts/create": DetailType.CHECKOUT_STARTED,
    "checkouts/update": DetailType.CHECKOUT_STARTED,
}


class ScheduledRun(BaseModel):
    """A schedule's input: {"scheduled_time": "<aws.scheduler.scheduled-time>"}."""

    scheduled_time: AwareDatetime
