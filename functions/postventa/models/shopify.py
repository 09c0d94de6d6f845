"""Shopify's EventBridge partner source (detail-type ``shopifyWebhook``) normalized into our contract.

Only the fields Postventa uses are modelled; Shopify adds fields often, so the rest is ignored.
Ids are read with ExternalId: integers stay exact, floats are refused.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from postventa.models.common import Amount, CurrencyCode, ExternalId, Moment, Money
from postventa.models.events import (
    CheckoutStartedV1,
    ConsentState,
    CustomerDataRequestedV1,
    CustomerErasureRequestedV1,
    CustomerUpdatedV1,
    CustomerV1,
    EventDetail,
    LineItemV1,
    OrderCancelledV1,
    OrderFulfilledV1,
    OrderPlacedV1,
    OrderRefundedV1,
)

_CONSENT = {
    "subscribed": ConsentState.SUBSCRIBED,
    "unsubscribed": ConsentState.UNSUBSCRIBED,
    "not_subscribed": ConsentState.NOT_SUBSCRIBED,
    "pending": ConsentState.NOT_SUBSCRIBED,  # double opt-in not confirmed yet: no consent
}


class _Shopify(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class ShopifyConsent(_Shopify):
    state: str | None = None


class ShopifyAddress(_Shopify):
    country_code: str | None = None


class ShopifyCustomer(_Shopify):
    id: ExternalId
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_marketing_consent: ShopifyConsent | None = None
    sms_marketing_consent: ShopifyConsent | None = None
    default_address: ShopifyAddress | None = None

    def to_contract(self, *, locale: str | None = None, accepts_marketing: bool | None = None) -> CustomerV1:
        consent = _consent(self.email_marketing_consent)
        if consent is None and accepts_marketing is not None:
            consent = ConsentState.SUBSCRIBED if accepts_marketing else ConsentState.NOT_SUBSCRIBED
        country = self.default_address.country_code if self.default_address else None
        return CustomerV1(
            id=self.id,
            email=self.email or None,
            phone=self.phone,
            first_name=self.first_name,
            last_name=self.last_name,
            locale=locale,
            country=country,
            email_marketing=consent,
            sms_marketing=_consent(self.sms_marketing_consent),
        )


def _consent(given: ShopifyConsent | None) -> ConsentState | None:
    """None (and Shopify's `redacted`) keeps what is stored."""
    return _CONSENT.get(given.state or "") if given else None


class ShopifyLineItem(_Shopify):
    product_id: ExternalId | None = None
    sku: str | None = None
    title: str
    name: str | None = None
    quantity: int
    price: Amount
    product_type: str | None = None

    def to_contract(self, currency: str) -> LineItemV1:
        return LineItemV1(
            sku=self.sku,
            product_id=self.product_id,
            name=self.name or self.title,
            quantity=self.quantity,
            unit_price=Money(amount=self.price, currency=currency),
            categories=[self.product_type] if self.product_type else [],
        )


class ShopifyFulfillment(_Shopify):
    created_at: Moment
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


class ShopifyOrder(_Shopify):
    id: ExternalId
    name: str | None = None
    email: str | None = None
    contact_email: str | None = None
    created_at: Moment
    updated_at: Moment | None = None
    cancelled_at: Moment | None = None
    cancel_reason: str | None = None
    currency: CurrencyCode
    current_total_price: Amount | None = None
    total_price: Amount
    customer: ShopifyCustomer | None = None
    customer_locale: str | None = None
    buyer_accepts_marketing: bool | None = None
    line_items: list[ShopifyLineItem] = Field(min_length=1)
    fulfillments: list[ShopifyFulfillment] = Field(default_factory=list)
    order_status_url: str | None = None
    test: bool = False

    def customer_contract(self) -> CustomerV1:
        return _buyer(
            "order",
            self.customer,
            self.email or self.contact_email,
            self.customer_locale,
            self.buyer_accepts_marketing,
        )

    def to_order_placed(self) -> OrderPlacedV1:
        total = self.current_total_price if self.current_total_price is not None else self.total_price
        return OrderPlacedV1(
            order_id=self.id,
            order_number=self.name,
            placed_at=self.created_at,
            customer=self.customer_contract(),
            currency=self.currency,
            total=Money(amount=total, currency=self.currency),
            items=[item.to_contract(self.currency) for item in self.line_items],
            status_url=self.order_status_url,
            test=self.test,
            cancelled_at=self.cancelled_at,
        )


def _buyer(
    what: str,
    customer: ShopifyCustomer | None,
    email: str | None,
    locale: str | None,
    accepts_marketing: bool | None,
) -> CustomerV1:
    """Who is buying: the shop's customer (with the address given at checkout if theirs has none),
    or a guest known by the address alone."""
    if customer is not None:
        if not customer.email and email:
            customer = customer.model_copy(update={"email": email})
        return customer.to_contract(locale=locale, accepts_marketing=accepts_marketing)
    if not email:
        raise ValueError(f"a guest {what} needs an email: it has neither customer nor email")
    return CustomerV1(id=guest_customer_id(email), email=email, locale=locale)


class ShopifyCheckout(_Shopify):
    token: ExternalId
    email: str | None = None
    created_at: Moment
    completed_at: Moment | None = None
    currency: CurrencyCode
    total_price: Amount
    customer: ShopifyCustomer | None = None
    customer_locale: str | None = None
    buyer_accepts_marketing: bool | None = None
    buyer_accepts_sms_marketing: bool | None = None
    sms_marketing_phone: str | None = None
    line_items: list[ShopifyLineItem] = Field(min_length=1)
    abandoned_checkout_url: str | None = None

    def to_checkout_started(self) -> CheckoutStartedV1:
        # The SMS box at checkout, like the email one, is consent stated without its time: it only
        # fills what is not known yet (OrderEventService).
        customer = _buyer(
            "checkout", self.customer, self.email, self.customer_locale, self.buyer_accepts_marketing
        )
        if self.sms_marketing_phone and self.buyer_accepts_sms_marketing is not None:
            accepted = self.buyer_accepts_sms_marketing
            customer = customer.model_copy(
                update={
                    "phone": self.sms_marketing_phone,
                    "sms_marketing": ConsentState.SUBSCRIBED if accepted else ConsentState.NOT_SUBSCRIBED,
                }
            )
        return CheckoutStartedV1(
            checkout_id=self.token,
            customer=customer,
            started_at=self.created_at,
            currency=self.currency,
            total=Money(amount=self.total_price, currency=self.currency),
            items=[item.to_contract(self.currency) for item in self.line_items],
            recovery_url=self.abandoned_checkout_url,
            completed_at=self.completed_at,
        )


class ShopifyRefundTransaction(_Shopify):
    amount: Amount
    currency: CurrencyCode | None = None
    kind: str | None = None
    status: str | None = None


class ShopifyRefund(_Shopify):
    id: ExternalId
    order_id: ExternalId
    created_at: Moment
    transactions: list[ShopifyRefundTransaction] = Field(default_factory=list)

    def to_order_refunded(self) -> OrderRefundedV1:
        settled = [
            t for t in self.transactions if t.kind in (None, "refund") and t.status in (None, "success")
        ]
        total = sum((t.amount for t in settled), Decimal(0))
        currency = next((t.currency for t in settled if t.currency), None)
        # A transaction without its currency is in the order's: on_order reads it from the order.
        # No settled transaction: nothing was paid back (a restock, a failed refund), not the whole order.
        amount = Money(amount=total, currency=currency) if currency else total
        return OrderRefundedV1(
            order_id=self.order_id, refund_id=self.id, refunded_at=self.created_at, amount=amount
        )


def guest_customer_id(email: str) -> str:
    """Guest checkout: a stable pseudonymous id, so the address itself never becomes a key."""
    return "guest-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


def _topic(value: Any) -> str | None:
    metadata = value.get("metadata") if isinstance(value, dict) else getattr(value, "metadata", None)
    return (metadata or {}).get("X-Shopify-Topic")


class _WebhookDetail(_Shopify):
    metadata: dict[str, str]


class OrdersCreate(_WebhookDetail):
    payload: ShopifyOrder

    def to_contract(self, received_at: datetime) -> EventDetail:
        return self.payload.to_order_placed()


class OrdersFulfilled(_WebhookDetail):
    payload: ShopifyOrder

    def to_contract(self, received_at: datetime) -> EventDetail:
        order = self.payload
        shipped = order.fulfillments[-1] if order.fulfillments else None
        return OrderFulfilledV1(
            order_id=order.id,
            customer_id=order.customer.id if order.customer else None,
            fulfilled_at=shipped.created_at if shipped else (order.updated_at or order.created_at),
            carrier=shipped.tracking_company if shipped else None,
            tracking_number=shipped.tracking_number if shipped else None,
            tracking_url=shipped.tracking_url if shipped else None,
        )


class OrdersCancelled(_WebhookDetail):
    payload: ShopifyOrder

    def to_contract(self, received_at: datetime) -> EventDetail:
        order = self.payload
        return OrderCancelledV1(
            order_id=order.id,
            customer_id=order.customer.id if order.customer else None,
            cancelled_at=order.cancelled_at or order.updated_at or order.created_at,
            reason=order.cancel_reason,
        )


class RefundsCreate(_WebhookDetail):
    payload: ShopifyRefund

    def to_contract(self, received_at: datetime) -> EventDetail:
        return self.payload.to_order_refunded()


class CheckoutsCreateOrUpdate(_WebhookDetail):
    """checkouts/create fires once the shopper has typed their contact details; checkouts/update on
    every later change, completion (completed_at) included."""

    payload: ShopifyCheckout

    def to_contract(self, received_at: datetime) -> EventDetail:
        return self.payload.to_checkout_started()


class ShopifyDatedConsent(ShopifyConsent):
    consent_updated_at: Moment | None = None


class ShopifySmsConsentChange(_Shopify):
    id: ExternalId
    phone: str | None = None
    sms_marketing_consent: ShopifyDatedConsent | None = None


class CustomersMarketingConsentUpdate(_WebhookDetail):
    """Shopify's topic for a change of SMS marketing consent."""

    payload: ShopifySmsConsentChange

    def to_contract(self, received_at: datetime) -> EventDetail:
        change = self.payload
        return _dated_consent(
            change.id, "sms_marketing", change.sms_marketing_consent, received_at, phone=change.phone
        )


class ShopifyEmailConsentChange(_Shopify):
    customer_id: ExternalId
    email_address: str | None = None
    email_marketing_consent: ShopifyDatedConsent | None = None


class CustomersEmailMarketingConsentUpdate(_WebhookDetail):
    """Shopify's topic for a change of email marketing consent (customers/update carries none
    since API version 2025-01)."""

    payload: ShopifyEmailConsentChange

    def to_contract(self, received_at: datetime) -> EventDetail:
        change = self.payload
        return _dated_consent(
            change.customer_id, "email_marketing", change.email_marketing_consent, received_at
        )


def _dated_consent(
    customer_id: str, field: str, consent: ShopifyDatedConsent | None, received_at: datetime, **contact: Any
) -> CustomerUpdatedV1:
    """One channel's consent change, stated when Shopify says it was given (else when received)."""
    return CustomerUpdatedV1(
        customer=CustomerV1(
            id=customer_id,
            **contact,
            **{field: _consent(consent)},
            consent_updated_at=(consent.consent_updated_at if consent else None) or received_at,
        ),
        updated_at=received_at,
    )


class ShopifyUpdatedCustomer(ShopifyCustomer):
    updated_at: Moment | None = None


class CustomersUpdate(_WebhookDetail):
    payload: ShopifyUpdatedCustomer

    def to_contract(self, received_at: datetime) -> EventDetail:
        customer = self.payload
        return CustomerUpdatedV1(
            customer=customer.to_contract(), updated_at=customer.updated_at or received_at
        )


class ShopifyRedactedCustomer(_Shopify):
    id: ExternalId | None = None
    email: str | None = None


class ShopifyCustomerRedaction(_Shopify):
    customer: ShopifyRedactedCustomer


class CustomersRedact(_WebhookDetail):
    """Shopify's mandatory compliance topic: the shop was asked to forget a customer."""

    payload: ShopifyCustomerRedaction

    def to_contract(self, received_at: datetime) -> CustomerErasureRequestedV1:
        customer = self.payload.customer
        if customer.id is None and not customer.email:
            raise ValueError("customers/redact names neither a customer id nor an email")
        customer_id = customer.id or guest_customer_id(customer.email or "")
        return CustomerErasureRequestedV1(customer_id=customer_id, requested_at=received_at)


class ShopifyDataRequestId(_Shopify):
    id: ExternalId


class ShopifyCustomerDataRequest(ShopifyCustomerRedaction):
    data_request: ShopifyDataRequestId

    def to_contract(self, received_at: datetime) -> CustomerDataRequestedV1:
        customer = self.customer
        if customer.id is None and not customer.email:
            raise ValueError("customers/data_request names neither a customer id nor an email")
        customer_id = customer.id or guest_customer_id(customer.email or "")
        return CustomerDataRequestedV1(
            customer_id=customer_id, request_id=self.data_request.id, requested_at=received_at
        )


SHOPIFY_TOPICS = (
    "orders/create",
    "orders/fulfilled",
    "orders/cancelled",
    "refunds/create",
    "customers/update",
    "customers_marketing_consent/update",
    "customers_email_marketing_consent/update",
    "customers/redact",
    "checkouts/create",
    "checkouts/update",
)
# What the partner event source carries: compliance topics come over HTTPS only (services/compliance.py).
PARTNER_TOPICS = tuple(topic for topic in SHOPIFY_TOPICS if topic != "customers/redact")

ShopifyWebhookDetail = Annotated[
    Annotated[OrdersCreate, Tag("orders/create")]
    | Annotated[OrdersFulfilled, Tag("orders/fulfilled")]
    | Annotated[OrdersCancelled, Tag("orders/cancelled")]
    | Annotated[RefundsCreate, Tag("refunds/create")]
    | Annotated[CustomersUpdate, Tag("customers/update")]
    | Annotated[CustomersMarketingConsentUpdate, Tag("customers_marketing_consent/update")]
    | Annotated[CustomersEmailMarketingConsentUpdate, Tag("customers_email_marketing_consent/update")]
    | Annotated[CustomersRedact, Tag("customers/redact")]
    | Annotated[CheckoutsCreateOrUpdate, Tag("checkouts/create")]
    | Annotated[CheckoutsCreateOrUpdate, Tag("checkouts/update")],
    Discriminator(
        _topic,
        custom_error_type="unsupported_shopify_topic",
        custom_error_message=f"X-Shopify-Topic must be one of {', '.join(SHOPIFY_TOPICS)}",
    ),
]
