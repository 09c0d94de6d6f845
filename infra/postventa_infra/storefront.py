"""Consent back to the storefront (context shopifyAdmin): Consent Changed on Postventa's bus ->
rule -> the consent queue -> write_consent, which writes the customer's marketing consent through
the Shopify Admin GraphQL API with the shop's custom app token (Secrets Manager). EventBridge API
destinations would need no function, but an input transformer cannot turn our states into
Shopify's enums, nor leave out a consent Shopify cannot be given (NOT_SUBSCRIBED)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field

from postventa.models.consent import CONSENT_CHANGED, CONSENT_SOURCE
from postventa_infra.ingest import Ingest


class ShopifyAdminOptions(BaseModel):
    """shopifyAdmin: {"shop": "example.myshopify.com", "secret": "<Secrets Manager name>"}: the
    secret's value is the Admin API access token of the shop's custom app (scope write_customers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shop: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
    api_version: str = Field(default="2026-10", alias="apiVersion", pattern=r"^\d{4}-(01|04|07|10)$")
    secret: str = Field(min_length=1)

    @property
    def url(self) -> str:
        return f"https://{self.shop}/admin/api/{self.api_version}/graphql.json"


class ConsentWriteBack(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: Ingest,
        function: lambda_.Function,
        admin: ShopifyAdminOptions,
    ):
        super().__init__(scope, construct_id)
        self.dead_letters, queue = ingest.routed(
            self,
            "Consent",
            description="Consent Changed: each customer's stated choice, for the Shopify write-back",
            pattern=events.EventPattern(source=[CONSENT_SOURCE], detail_type=[CONSENT_CHANGED]),
        )
        queue.grant_consume_messages(function)
        # A few at a time: Shopify's GraphQL budget is per app and store, shared with the shop's
        # other uses of the app.
        function.add_event_source(
            SqsEventSource(queue, batch_size=10, report_batch_item_failures=True, max_concurrency=2)
        )
        token = secretsmanager.Secret.from_secret_name_v2(self, "AdminToken", admin.secret)
        token.grant_read(function)
        ingest.invalid_events.grant_send_messages(function)
