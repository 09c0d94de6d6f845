"""The one typed settings model, read from the environment once per cold start."""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from postventa.models.common import TimezoneName
from postventa.models.events import Channel
from postventa.models.policy import ContactPolicy


class MissingSetting(RuntimeError):
    pass


# The starting quotas of an SES production account and of SNS SMS; push has none.
DEFAULT_SEND_RATE = {Channel.EMAIL: 14, Channel.SMS: 20}


# What a link to the shop carries, each value a template of the message's channel, journey and step.
DEFAULT_UTM = {
    "utm_source": "postventa",
    "utm_medium": "{channel}",
    "utm_campaign": "{journey}",
    "utm_content": "{step}",
}
UTM_FIELDS = frozenset({"channel", "journey", "step"})
# The order and its first item, for the review destination.
REVIEW_FIELDS = frozenset({"order_id", "order_number", "product_id", "sku", "product"})


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class CampaignLinks(BaseModel):
    """Where review buttons lead, and what links to the shop carry for its own analytics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_url: str | None = Field(
        default=None,
        description="A URL template of the order and its first item, e.g. "
        "https://shop.example/products/{product_id}#reviews or a review platform's; "
        "none: the order's status page, else the shop's home",
    )
    shop_url: str | None = Field(
        default=None, description="The shop's home page; none: https:// and the sender's domain"
    )
    shop_domains: list[str] = Field(
        default_factory=list,
        description="Links to these hosts (and their subdomains) are tagged; none: the sender's domain",
    )
    utm: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_UTM),
        description="Parameters added to links to the shop; {} for none",
    )
    # SMS is left out by default: the parameters take a one-segment text to two, doubling its price.
    tagged_channels: frozenset[Channel] = Field(
        default=frozenset({Channel.EMAIL, Channel.PUSH}), description="The channels whose links are tagged"
    )

    @field_validator("review_url")
    @classmethod
    def _review_fields(cls, value: str | None) -> str | None:
        unknown = _placeholders(value or "") - REVIEW_FIELDS
        if unknown:
            raise ValueError(f"review_url: unknown {sorted(unknown)}; use {', '.join(sorted(REVIEW_FIELDS))}")
        return value

    @field_validator("utm")
    @classmethod
    def _utm_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set().union(*(_placeholders(v) for v in value.values())) - UTM_FIELDS
        if unknown:
            raise ValueError(f"utm: unknown {sorted(unknown)}; use {', '.join(sorted(UTM_FIELDS))}")
        return value


class Settings(BaseSettings):
    """Each function is given only the settings it reads (composition.SETTINGS_USED, from which
    the stack writes its environment): those it lacks stay None, and `required` says which."""

    model_config = SettingsConfigDict(env_prefix="POSTVENTA_", frozen=True)

    table_name: str | None = None
    idempotency_table_name: str | None = None
    invalid_events_queue_url: str | None = None
    state_machines: dict[str, str] = Field(
        default_factory=dict, description="journey name -> state machine ARN"
    )
    sender: str | None = Field(default=None, description='From address, e.g. "Shop <orders@shop.example>"')
    configuration_set: str | None = None
    links_base_url: str | None = Field(
        default=None, description="Public base URL of the preference centre; links are signed"
    )
    link_signing_secret_id: str | None = None
    inbox_key_secret_id: str | None = Field(
        default=None, description="The key the shop's backend signs customer ids with for the app inbox"
    )
    shop_name: str = "Postventa Demo Shop"
    support_email: str = "support@shop.example"
    default_locale: str = "en"
    default_timezone: TimezoneName = "UTC"
    shopify_webhook_secret_id: str | None = Field(
        default=None, description="The Shopify app's client secret, which signs its compliance webhooks"
    )
    shopify_admin_url: str | None = Field(
        default=None, description="https://<shop>.myshopify.com/admin/api/<version>/graphql.json"
    )
    shopify_admin_token_secret_id: str | None = Field(
        default=None, description="The shop's custom app's Admin API access token (write_customers)"
    )
    message_retention_days: int = Field(
        default=730, ge=30, description="Messages, decisions and survey answers are deleted this long after"
    )
    test_orders_start_journeys: bool = Field(
        default=False, description="Shopify test orders (test: true) start journeys like real ones"
    )
    event_bus_name: str = "postventa"
    call_destinations: list[str] = Field(
        default_factory=list,
        description="The destinations call steps may name (context httpDestinations); JSON in the environment",
    )
    archive_bucket: str | None = Field(
        default=None, description="The analytics archive; the scoring job's model"
    )
    sms_sender_id: str | None = Field(
        default=None, description="Alphanumeric sender id, where countries allow"
    )
    push_application_id: str | None = Field(
        default=None, description="End User Messaging push (Pinpoint) application; none: no push"
    )
    contact_policy: ContactPolicy = Field(
        default_factory=ContactPolicy, description="JSON in the environment"
    )
    campaign_links: CampaignLinks = Field(
        default_factory=CampaignLinks, description="JSON in the environment"
    )
    max_send_rate: dict[Channel, int] = Field(
        default_factory=lambda: dict(DEFAULT_SEND_RATE),
        description="Sends per second per channel: the account's SES and SMS quotas",
    )

    def required(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise MissingSetting(f"POSTVENTA_{name.upper()} is not set: this function was not given {name}")
        return str(value)
