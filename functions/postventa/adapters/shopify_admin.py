"""The Shopify Admin GraphQL API, with the access token of the shop's custom app (write_customers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import urllib3

from postventa.services.errors import SendThrottled, StepRetryable

TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)


class ShopifyAdmin:
    def __init__(self, url: str, token: Callable[[], str], http: urllib3.PoolManager | None = None):
        """url: https://<shop>.myshopify.com/admin/api/<version>/graphql.json; token: read when
        needed (from Secrets Manager, cached), so a rotated token is picked up."""
        self._url, self._token = url, token
        self._http = http or urllib3.PoolManager()

    def post(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer's JSON. SendThrottled on 429, StepRetryable when Shopify did not answer or
        failed (5xx): the request says a state at a time, so sending it again does no harm."""
        try:
            response = self._http.request(
                "POST",
                self._url,
                body=json.dumps(request).encode(),
                headers={"Content-Type": "application/json", "X-Shopify-Access-Token": self._token()},
                timeout=TIMEOUT,
                retries=False,
            )
        except urllib3.exceptions.HTTPError as error:
            raise StepRetryable(f"Shopify did not answer: {type(error).__name__}") from error
        if response.status == 429:
            raise SendThrottled("Shopify answered 429: too many requests")
        if response.status >= 500:
            raise StepRetryable(f"Shopify answered {response.status}")
        if response.status >= 400:  # a token revoked, a scope missing: fixed by the shop, then redriven
            raise PermissionError(
                f"Shopify answered {response.status}: check the app's token and write_customers"
            )
        return dict(json.loads(response.data))
