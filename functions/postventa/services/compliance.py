"""Shopify's mandatory compliance webhooks, which Shopify delivers only over HTTPS: each request is
verified by its HMAC (a bad one is refused, 401 as Shopify requires); a customer's redaction
becomes Customer Erasure Requested and a data request Customer Data Requested on Postventa's bus,
which on_order carries out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from postventa.models.events import CustomerDataRequestedV1, CustomerErasureRequestedV1
from postventa.models.shopify import CustomersRedact, ShopifyCustomerDataRequest

Request = CustomerErasureRequestedV1 | CustomerDataRequestedV1

# Shopify's three compliance topics; the shop's redaction is acknowledged and logged for the
# operator to act on (docs/architecture.md, "Erasure and export").
COMPLIANCE_TOPICS = ("customers/redact", "customers/data_request", "shop/redact")


class NotFromShopify(ValueError):
    """The request's HMAC does not match: refused with 401."""


def signed_by_shopify(body: bytes, signature: str, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


class ComplianceWebhooks:
    def __init__(self, *, secret: Callable[[], str], publish: Callable[[Request], None]):
        """publish: puts the request on Postventa's bus (on_order carries it out)."""
        self._secret = secret
        self._publish = publish

    def receive(self, topic: str, body: bytes, signature: str, now: datetime) -> str:
        """What was done: 'erasure requested', 'export requested', or 'acknowledged'."""
        if not signed_by_shopify(body, signature, self._secret()):
            raise NotFromShopify("the X-Shopify-Hmac-Sha256 header does not match the body")
        if topic not in COMPLIANCE_TOPICS:
            raise ValueError(f"X-Shopify-Topic must be one of {', '.join(COMPLIANCE_TOPICS)}")
        if topic == "shop/redact":
            return "acknowledged"
        try:
            payload = json.loads(body)
            request: Request = (
                CustomersRedact(payload=payload, metadata={"X-Shopify-Topic": topic}).to_contract(now)
                if topic == "customers/redact"
                else ShopifyCustomerDataRequest.model_validate(payload).to_contract(now)
            )
        except (ValidationError, ValueError) as error:
            raise ValueError(f"{topic}: {error}") from error
        self._publish(request)
        return "erasure requested" if isinstance(request, CustomerErasureRequestedV1) else "export requested"
