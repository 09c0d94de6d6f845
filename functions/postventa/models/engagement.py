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

    def text_status(self) -> TextStatus:
        return TextStatus(
            provider_id=self.notification.messageId,
            number=self.delivery.destination,
            outcome="delivered" if self.status == "SUCCESS" else "failed",
            reason=self.delivery.providerResponse or "no reason given",
            at=self.notification.timestamp,
        )


class SmsVoiceRecord(BaseModel):
    """One AWS End User Messaging SMS event: a configuration set's event destination gets it as it
    is (with destinationPhoneNumber), EventBridge as the detail of Text Message Delivery Status
    Updated (without it). eventType is TEXT_<messageStatus>."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    eventType: str = Field(pattern=r"^TEXT_[A-Z_]+$")
    eventTimestamp: int = Field(description="Unix time in milliseconds")
    isFinal: bool = False
    messageId: str = Field(min_length=1)
    messageStatus: str
    messageStatusDescription: str = ""
    destinationPhoneNumber: str | None = None

    def text_status(self) -> TextStatus:
        status = self.messageStatus.upper()
        return TextStatus(
            provider_id=self.messageId,
            number=self.destinationPhoneNumber,
            outcome=(
                "delivered"
                if status in SMS_VOICE_DELIVERED
                else "pending"
                if status in SMS_VOICE_PENDING or not self.isFinal
                else "failed"
            ),
            reason=f"{status}: {self.messageStatusDescription or 'no reason given'}",
            at=datetime.fromtimestamp(self.eventTimestamp / 1000, UTC),
            permanent=status in SMS_VOICE_PERMANENT,
        )


# End User Messaging's statuses (configuration-sets-event-types): SUCCESSFUL (the carrier took it)
# and DELIVERED (the phone did) both mean delivered, by country; QUEUED and PENDING are on the way.
SMS_VOICE_DELIVERED = frozenset({"SUCCESSFUL", "DELIVERED"})
SMS_VOICE_PENDING = frozenset({"QUEUED", "PENDING"})
# About the number itself, which retrying will not change: not valid, or blocked by the
# recipient's device or carrier. CARRIER_BLOCKED, SPAM, PROTECT_BLOCKED are about the message.
SMS_VOICE_PERMANENT = frozenset({"INVALID", "BLOCKED"})


class SmsVoiceEvent(EventBridgeModel):
    """What End User Messaging SMS sends to the default bus for every text of the account."""

    model_config = ConfigDict(defer_build=True)

    source: Literal["aws.sms-voice"]
    detail_type: Literal["Text Message Delivery Status Updated"] = Field(alias="detail-type")
    detail: SmsVoiceRecord


class TextStatus(BaseModel):
    """What either source says of one text. permanent: known to refuse the number for good
    (None: judge by the reason's words, as SNS's logs say it only in words)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    provider_id: str
    number: str | None
    outcome: Literal["delivered", "failed", "pending"]
    reason: str
    at: AwareDatetime
    permanent: bool | None = None
