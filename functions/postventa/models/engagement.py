"""Amazon SES engagement events, as SES publishes them to EventBridge (source aws.ses).

The detail is SES's event-publishing record; Postventa's tags on every send (journey, step,
customer, message) come back in mail.tags and tie the event to the message log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from postventa.models.tags import decode_tag_value

ENGAGEMENT_DETAIL_TYPES = (
    "Email Sent",  # SES took the message: the proof a claim left `sending` was sent
    "Email Delivered",
    "Email Opened",
    "Email Clicked",
    "Email Bounced",
    "Email Complaint Received",
    "Email Rejected",
    "Email Delivery Delayed",
)


class _Ses(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class SesMail(_Ses):
    messageId: str
    timestamp: AwareDatetime
    tags: dict[str, list[str]] = Field(default_factory=dict)

    def tag(self, name: str) -> str | None:
        """A tag as Postventa set it on the send (see models/tags.py)."""
        values = self.tags.get(name)
        return decode_tag_value(values[0]) if values else None


class SesTimestamped(_Ses):
    timestamp: AwareDatetime


class SesBounce(SesTimestamped):
    bounceType: str  # Permanent, Transient, Undetermined


class SesReject(_Ses):
    reason: str


class SesRecord(_Ses):
    eventType: str
    mail: SesMail
    open: SesTimestamped | None = None
    click: SesTimestamped | None = None
    bounce: SesBounce | None = None
    complaint: SesTimestamped | None = None
    delivery: SesTimestamped | None = None
    deliveryDelay: SesTimestamped | None = None
    reject: SesReject | None = None


class SesEngagementEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)  # built at first use, as every model base (records.py)

    source: Literal["aws.ses"]
    detail_type: Literal[ENGAGEMENT_DETAIL_TYPES] = Field(alias="detail-type")  # type: ignore[valid-type]
    detail: SesRecord


class InboundSms(BaseModel):
    """A reply to our number, as AWS End User Messaging SMS publishes it to the two-way SNS topic."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    originationNumber: str = Field(pattern=r"^\+[1-9]\d{1,14}$")
    destinationNumber: str
    messageBody: str
    inboundMessageId: str

    @property
    def keyword(self) -> str:
        return self.messageBody.strip().split(" ")[0].upper() if self.messageBody.strip() else ""


class SmsNotification(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    messageId: str = Field(min_length=1, description="The id SNS Publish answered with")
    timestamp: datetime = Field(description="UTC, as SNS writes it: 2016-06-28 00:40:34.558")

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class SmsDelivery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    destination: str
    numberOfMessageParts: int | None = None
    priceInUSD: float | None = None
    providerResponse: str = ""
    smsType: str | None = None


class SmsDeliveryLog(BaseModel):
    """One record of SNS's SMS delivery-status logs (CloudWatch Logs, DirectPublishToPhoneNumber
    and its /Failure group): what the carrier said of a text."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    notification: SmsNotification
    delivery: SmsDelivery
    status: Literal["SUCCESS", "FAILURE"]
