"""Shopify's mandatory compliance webhooks, which Shopify delivers only over HTTPS: each request is
verified by its HMAC (a bad one is refused, 401 as Shopify requires) and a customer's redaction
becomes Customer Erasure Requested on Postventa's bus, which on_order carries out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from postventa.models.events import CustomerErasureRequestedV1
from postventa.models.shopify import CustomersRedact

# Shopify's three compliance topics; the data request and the shop's redaction are acknowledged
# and logged for the shop to act on (docs/architecture.md, "Erasure").
COMPLIANCE_TOPICS = ("customers/redact", "customers/data_request", "shop/redact")


class NotFromShopify(ValueError):
    """The request's HMAC does not match: refused with 401."""


def signed_by_shopify(body: bytes, signature: str, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


class ComplianceWebhooks:
    def __init__(
        self, *, secret: Callable[[], str], request_erasure: Callable[[CustomerErasureRequestedV1], None]
    ):
        self._secret = secret
        self._request_erasure = request_erasure

    def receive(self, topic: str, body: bytes, signature: str, now: datetime) -> str:
        """What was done, in a word: 'erasure requested', or 'acknowledged'."""
        if not signed_by_shopify(body, signature, self._secret()):
            raise NotFromShopify("the X-Shopify-Hmac-Sha256 header does not match the body")
        if topic not in COMPLIANCE_TOPICS:
            raise ValueError(f"X-Shopify-Topic must be one of {', '.join(COMPLIANCE_TOPICS)}")
        if topic != "customers/redact":
            return "acknowledged"
        try:
            webhook = CustomersRedact(payload=json.loads(body), metadata={"X-Shopify-Topic": topic})
            erasure = webhook.to_contract(now)
        except (ValidationError, ValueError) as error:
            raise ValueError(f"customers/redact: {error}") from error
        self._request_erasure(erasure)
        return "erasure requested"
