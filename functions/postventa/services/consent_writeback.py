"""write_consent's work: a customer's stated choice, written back to the Shopify customer's
marketing consent, so the storefront and Postventa never disagree."""

from __future__ import annotations

from typing import Any

from postventa.logic.shopify_consent import shopify_consent_request, throttled, user_errors
from postventa.models.consent import ConsentChangedV1
from postventa.services.errors import ConsentRefused, SendThrottled
from postventa.services.ports import AdminApi


class ConsentWriteBack:
    def __init__(self, *, admin: AdminApi):
        self._admin = admin

    def write(self, consent: ConsentChangedV1) -> dict[str, Any]:
        request = shopify_consent_request(consent)
        if request is None:
            return {"ignored": "not a Shopify customer, or no consent given or withdrawn"}
        answer = self._admin.post(request)
        if throttled(answer):
            raise SendThrottled("Shopify answered THROTTLED")
        refused = user_errors(answer)
        if refused:
            raise ConsentRefused("Shopify refused: " + "; ".join(refused))
        return {"written": sorted(request["variables"])}
