"""What Postventa stores in DynamoDB, one model per item kind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.models.common import Money
from postventa.models.events import (
    AttributeValue,
    Channel,
    ConsentState,
    CustomerV1,
    InboundEvent,
    LineItemV1,
    OrderPlacedV1,
    OrderRefundedV1,
    PushTokenV1,
)


class _Record(BaseModel):
    # defer_build (here and on every model base): a model's validator is built when first used, so
    # a cold start builds the few models its event touches, not all of them at import.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class CustomerProfile(_Record):
    customer_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    timezone: str | None = None
    country: str | None = None
    birthday: date | None = None
    email_marketing: ConsentState = ConsentState.NOT_SUBSCRIBED
    email_suppressed: str | None = Field(
        default=None, description="Why the address must not be mailed at all"
    )
    sms_marketing: ConsentState = ConsentState.NOT_SUBSCRIBED
    sms_transactional: ConsentState = ConsentState.NOT_SUBSCRIBED
    sms_opted_out: str | None = Field(default=None, description="Why the number must not get SMS at all")
    push_marketing: ConsentState = ConsentState.NOT_SUBSCRIBED
    push_tokens: list[PushTokenV1] = Field(default_factory=list)
    channels: list[Channel] | None = Field(
        default=None, description="Chosen by the customer, in order of preference; None: not chosen"
    )
    topics_unsubscribed: list[str] = Field(default_factory=list)
    open_cases: list[str] = Field(default_factory=list, description="Support cases open right now")
    orders_count: int = 0
    first_order_at: AwareDatetime | None = None
    last_order_at: AwareDatetime | None = None
    total_spent: float = Field(
        default=0.0, description="Sum of order totals as placed (a measure, not a ledger)"
    )
    categories_bought: list[str] = Field(default_factory=list)
    # Written by the scoring job (BG/NBD + Gamma-Gamma over every customer's history)
    predicted_value: float | None = Field(default=None, description="Expected spend over the model's horizon")
    p_alive: float | None = None
    expected_purchases: float | None = Field(default=None, description="Over the model's horizon")
    expected_spend: float | None = Field(default=None, description="Per future purchase")
    next_purchase_expected: date | None = Field(
        default=None, description="While active, at their own purchase rate; none when probably lapsed"
    )
    vip: bool = Field(default=False, description="Top tenth of customers by predicted value")
    early_vip: bool = Field(default=False, description="Top tenth of one-order customers by predicted value")
    rfm: str | None = Field(default=None, description="Recency, frequency, monetary quintiles, e.g. 545")
    recommended: list[str] = Field(
        default_factory=list,
        description="Complements of what they bought, strongest first (co-purchase rules)",
    )
    scored_at: AwareDatetime | None = None
    open_hours: list[int] = Field(
        default_factory=list,
        description="Opens and clicks by local hour, 0-23 (empty: none yet): wait_until's best_hour",
    )
    consent_at: dict[str, AwareDatetime] = Field(
        default_factory=dict,
        description="When each consent or channel choice held was stated: an older one never overrides it",
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="The shop's own fields, as declared (customer_attributes)"
    )
    version: int = Field(default=0, description="Bumped on every write; writes check it")
    updated_at: AwareDatetime

    def merged_with(self, update: CustomerV1, at: AwareDatetime) -> CustomerProfile:
        """An update only overrides what it states; omitted fields keep what is stored; consent
        and channel choices only if stated later than what is held (at: the event's time)."""
        changes = {
            field: value
            for field, value in update.model_dump(exclude={"id", "consent_updated_at"}).items()
            if value is not None
        }
        consents = {field: changes.pop(field) for field in CONSENT_FIELDS & changes.keys()}
        if "attributes" in changes:  # each stated replaces what is kept; null removes it
            stated = {**self.attributes, **changes["attributes"]}
            changes["attributes"] = {name: value for name, value in stated.items() if value is not None}
        merged = self.with_consents(consents, update.consent_updated_at or at)
        if changes.keys() <= _PLAIN_FIELDS:
            merged = merged.model_copy(update=changes)
        else:
            merged = type(self).model_validate({**dict(merged), **changes})  # nested: validate
        # Nothing new (a shopper's every product view names them): nothing to write.
        return self if merged == self else merged.model_copy(update={"updated_at": at})

    def with_consents(self, consents: dict[str, Any], stated_at: AwareDatetime) -> CustomerProfile:
        """Each consent or choice as stated at `stated_at`, unless what is held was stated later."""
        newer = {
            field: value
            for field, value in consents.items()
            if field not in self.consent_at or stated_at >= self.consent_at[field]
        }
        if not newer:
            return self
        return self.model_copy(
            update={**newer, "consent_at": {**self.consent_at, **dict.fromkeys(newer, stated_at)}}
        )

    def with_order(
        self, placed_at: AwareDatetime, total: float, categories: Iterable[str]
    ) -> CustomerProfile:
        """Counts a new order (never a replayed one: the caller checks the order was unknown)."""
        first = min(filter(None, [self.first_order_at, placed_at]))
        last = max(filter(None, [self.last_order_at, placed_at]))
        return self.model_copy(
            update={
                "orders_count": self.orders_count + 1,
                "first_order_at": first,
                "last_order_at": last,
                "total_spent": round(self.total_spent + total, 2),
                "categories_bought": sorted({*self.categories_bought, *categories}),
            }
        )

    @classmethod
    def from_contract(cls, customer: CustomerV1, at: AwareDatetime) -> CustomerProfile:
        return cls(customer_id=customer.id, updated_at=at).merged_with(customer, at)


# What the customer says about being contacted: each kept with the time it was stated.
CONSENT_FIELDS = frozenset(
    {"email_marketing", "sms_marketing", "sms_transactional", "push_marketing", "channels"}
)
_PLAIN_FIELDS = frozenset(
    {"email", "phone", "first_name", "last_name", "locale", "timezone", "country", "birthday", "attributes"}
)


class OrderOutcome(StrEnum):
    """Why a new order was not placed: it was placed before, or the profile changed meanwhile."""

    KNOWN = "known"
    PROFILE_CHANGED = "profile_changed"


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
    refunds: dict[str, Money] = Field(
        default_factory=dict,
        description="Each refund by its id (or its event's): counted once however often it comes",
    )

    @property
    def is_closed(self) -> bool:
        return self.status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED)

    def with_refund(self, refund: OrderRefundedV1, event_id: str) -> OrderRecord:
        """A refund of the whole order closes it; a partial one is recorded and leaves it open.
        Refunds in a currency other than the order's cannot be compared: taken as whole."""
        if refund.amount is None:
            return self.model_copy(update={"status": OrderStatus.REFUNDED, "closed_at": refund.refunded_at})
        amount = refund.amount
        money = amount if isinstance(amount, Money) else Money(amount=amount, currency=self.total.currency)
        refunds = {**self.refunds, refund.refund_id or event_id: money}
        comparable = all(m.currency == self.total.currency for m in refunds.values())
        whole = not comparable or sum(m.amount for m in refunds.values()) >= self.total.amount
        closed = {"status": OrderStatus.REFUNDED, "closed_at": refund.refunded_at} if whole else {}
        return self.model_copy(update={"refunds": refunds, **closed})

    @classmethod
    def placed(cls, detail: OrderPlacedV1, customer_id: str) -> OrderRecord:
        return cls(
            order_id=detail.order_id,
            customer_id=customer_id,
            order_number=detail.order_number,
            placed_at=detail.placed_at,
            total=detail.total,
            items=detail.items,
            status_url=detail.status_url,
        )


EARLY_RETENTION = timedelta(days=30)  # an order this late is not coming: Shopify retries for 48 hours


class EarlyEvent(_Record):
    """A fulfilment, refund or cancellation that came before its order: applied when the order does."""

    order_id: str
    event: InboundEvent
    kept_at: AwareDatetime


class JourneyEntry(_Record):
    """A customer's entry into a journey: claimed before the execution starts, so it happens once."""

    customer_id: str
    journey: str
    version: int
    trigger_id: str
    order_id: str | None = None
    execution_name: str
    execution_arn: str | None = None
    entered_at: AwareDatetime
    ended_reason: str | None = None
    converted: bool = False
    matched: dict[str, str] = Field(
        default_factory=dict, description="The trigger's values of the properties exit goals compare (same)"
    )


class MessageStatus(StrEnum):
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class MessageRecord(_Record):
    message_id: str
    customer_id: str
    order_id: str | None = None
    journey: str
    version: int
    step: str
    execution_id: str
    channel: str
    template: str
    purpose: str
    topic: str | None = None
    status: MessageStatus
    reason: str | None = Field(
        default=None, description="Why it was not sent, or why other channels were passed over"
    )
    held: str | None = Field(default=None, description="Why the contact policy held it back for a while")
    due_at: AwareDatetime | None = Field(default=None, description="When it was first due, if held")
    deferred_until: AwareDatetime | None = None
    subject: str | None = None
    segments: int | None = Field(default=None, description="SMS parts billed")
    provider_message_id: str | None = None
    sent_at: AwareDatetime | None = Field(
        default=None, description="When the provider took it: after `at` when the sending rate made it wait"
    )
    claimed_at: AwareDatetime | None = Field(
        default=None, description="When the attempt now sending it took it (its lease starts then)"
    )
    handed_over_at: AwareDatetime | None = Field(
        default=None, description="When the claim's attempt called the provider: past this, it may be out"
    )
    experiment: str | None = None
    variant: str | None = None
    delivered_at: AwareDatetime | None = None
    delayed_at: AwareDatetime | None = None
    opened_at: AwareDatetime | None = None
    clicked_at: AwareDatetime | None = None
    unsubscribed_at: AwareDatetime | None = Field(default=None, description="Through this message's link")
    at: AwareDatetime


class InboxCard(_Record):
    """A message in the app's inbox: what the app shows, and whether the customer read it."""

    message_id: str
    customer_id: str
    journey: str
    step: str
    title: str
    text: str
    marketing: bool
    sent_at: AwareDatetime
    read_at: AwareDatetime | None = None


class ProfileScore(_Record):
    """What the scoring job writes on one profile (the fields of the same names)."""

    customer_id: str
    predicted_value: float | None = None
    p_alive: float | None = None
    expected_purchases: float | None = None
    expected_spend: float | None = None
    next_purchase_expected: date | None = None
    vip: bool = False
    early_vip: bool = False
    rfm: str | None = None
    recommended: list[str] = Field(default_factory=list)


class DecidedWinner(_Record):
    """An A/B test's winner, recorded once the report decided it; `winner: auto` splits apply it."""

    experiment: str
    winner: str
    decided_at: AwareDatetime
    reason: str


class JourneyState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # entries and sends held; every execution keeps its place
    DRAINING = "draining"  # no new entries; running customers finish
    STOPPED = "stopped"  # no new entries, running executions ended


class JourneyControl(_Record):
    """What an operator set on a live journey (postventa journeys pause|resume|drain|stop)."""

    journey: str
    state: JourneyState
    changed_at: AwareDatetime
    reason: str | None = None

    @property
    def admits(self) -> bool:
        return self.state in (JourneyState.RUNNING, JourneyState.PAUSED)


class SeenEvent(_Record):
    """A shop's event some wait_for_event awaits, as it arrived: a wait registered after it (a send
    held, a Task retried) still sees it. Holds only the values `same` compares."""

    customer_id: str
    event: str
    event_id: str
    at: AwareDatetime
    matched: dict[str, str] = Field(default_factory=dict)


class PendingWait(_Record):
    """A journey parked on a wait_for_event step, resumed by the event with its task token."""

    customer_id: str
    order_id: str | None = None
    event: str
    execution_id: str
    step: str
    task_token: str
    registered_at: AwareDatetime
    matched: dict[str, str] = Field(
        default_factory=dict, description="The trigger's values the awaited event must hold too (same)"
    )


DecisionKind = Literal[
    "started", "duplicate", "not_entered", "ended", "converted", "resumed", "kept", "erased", "exported",
    "invalid", "ignored",
]  # fmt: skip


class Decision(_Record):
    """Something Postventa decided about an event, shown in simulate's timeline and logged in AWS."""

    at: AwareDatetime
    kind: DecisionKind
    customer_id: str | None = None
    journey: str | None = None
    order_id: str | None = None
    event_id: str | None = None
    reason: str | None = None


class StepDecision(_Record):
    """What a branch or split step decided for one execution: kept for measurement (variants, holdouts)."""

    customer_id: str
    journey: str
    version: int
    step: str
    execution_id: str
    outcome: str = Field(description="The case taken, the variant assigned ('holdout' included), or failed")
    experiment: str | None = None
    reason: str | None = Field(default=None, description="Why it failed, when it did")
    at: AwareDatetime


class NpsAnswer(_Record):
    customer_id: str
    score: int = Field(ge=0, le=10)
    message_id: str | None = None
    at: AwareDatetime


class SentContact(_Record):
    message_id: str
    purpose: str
    at: AwareDatetime


class HeldMessage(_Record):
    message_id: str
    journey: str
    priority: int
    due: AwareDatetime = Field(description="When it may go")
    first_due: AwareDatetime = Field(description="When it was due before it was first held")
    reason: str


class ContactLedger(_Record):
    """One per customer: the week's sends and the messages held back, across all journeys.
    Written with a version check, so concurrent sends to one customer are judged one at a time."""

    customer_id: str
    version: int = 0
    sent: list[SentContact] = Field(default_factory=list)
    held: list[HeldMessage] = Field(default_factory=list)
