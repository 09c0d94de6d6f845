"""What Postventa says on its bus when a customer states a choice about being contacted: in the
preference centre, through an unsubscribe link, or by replying STOP or START to a text."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.models.events import Channel, ConsentState
from postventa.models.records import CustomerProfile

CONSENT_CHANGED = "Consent Changed"
CONSENT_SOURCE = "postventa.consent"
StatedBy = Literal["preference_centre", "unsubscribe_link", "sms_reply"]


class ConsentChangedV1(BaseModel):
    """The customer's whole consent after the choice, not the difference: published on every
    such request, changed or not, so a retried request says it again. A subscriber sets what it
    says, field by field, unless it holds a statement later than `consent_at` names."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: Literal["1"] = "1"
    customer_id: str
    stated_by: StatedBy
    stated_at: AwareDatetime
    email_marketing: ConsentState
    sms_marketing: ConsentState
    sms_transactional: ConsentState
    push_marketing: ConsentState
    sms_opted_out: bool = Field(description="The number must get no texts at all (STOP, a carrier's refusal)")
    channels: list[Channel] | None = Field(description="The channels chosen, in order; None: never chosen")
    topics_unsubscribed: list[str]
    consent_at: dict[str, AwareDatetime] = Field(description="When each consent field was last stated")

    @classmethod
    def of(cls, profile: CustomerProfile, stated_by: StatedBy, stated_at: AwareDatetime) -> ConsentChangedV1:
        return cls(
            customer_id=profile.customer_id,
            stated_by=stated_by,
            stated_at=stated_at,
            email_marketing=profile.email_marketing,
            sms_marketing=profile.sms_marketing,
            sms_transactional=profile.sms_transactional,
            push_marketing=profile.push_marketing,
            sms_opted_out=profile.sms_opted_out is not None,
            channels=profile.channels,
            topics_unsubscribed=profile.topics_unsubscribed,
            consent_at=profile.consent_at,
        )


class ConsentChangedEvent(EventBridgeModel):
    """Consent Changed as the bus delivers it (to write_consent's queue, whole)."""

    model_config = ConfigDict(defer_build=True)

    source: Literal["postventa.consent"]
    detail_type: Literal["Consent Changed"] = Field(alias="detail-type")
    detail: ConsentChangedV1
