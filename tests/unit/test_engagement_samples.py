"""SES's published event records (the developer guide's examples) read as Postventa reads the
detail of an SES event on EventBridge: the same record, whichever destination carries it."""

from __future__ import annotations

import pytest

from postventa.models.engagement import SesRecord
from tests.conftest import PUBLISHED, load_json

SAMPLES = sorted(PUBLISHED.glob("ses_sns_*.json"))


def test_every_kind_of_record_is_there():
    assert {p.stem.removeprefix("ses_sns_") for p in SAMPLES} == {
        "bounce", "click", "complaint", "delivery", "open", "send",
    }  # fmt: skip


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_a_published_record_parses_with_its_times_and_tags(path):
    raw = load_json(path)
    record = SesRecord.model_validate(raw)
    assert record.eventType == raw["eventType"]
    assert record.mail.messageId == raw["mail"]["messageId"]
    assert record.mail.tags == raw["mail"].get("tags", {})
    part = {"Open": record.open, "Click": record.click, "Bounce": record.bounce,
            "Complaint": record.complaint, "Delivery": record.delivery}.get(record.eventType)  # fmt: skip
    if record.eventType != "Send":
        assert part is not None and part.timestamp.tzinfo is not None


@pytest.mark.parametrize(
    ("name", "status", "response"),
    [
        ("success", "SUCCESS", "Message has been accepted by phone carrier"),
        ("failure", "FAILURE", "Unknown error attempting to reach phone"),
    ],
)
def test_snss_published_sms_delivery_logs_parse(name, status, response):
    from postventa.models.engagement import SmsDeliveryLog

    log = SmsDeliveryLog.model_validate(load_json(PUBLISHED / f"sns_sms_delivery_log_{name}.json"))
    assert (log.status, log.delivery.providerResponse) == (status, response)
    assert log.notification.timestamp.tzinfo is not None  # SNS writes UTC without a zone


@pytest.mark.parametrize(
    ("response", "permanent"),
    [
        ("Phone is on a blocked list", True),
        ("Phone has blocked SMS", True),
        ("Invalid phone number", True),
        ("Phone number is opted out", True),
        ("Unknown error attempting to reach phone", False),
        ("Phone is currently unreachable/unavailable", False),
        ("Phone carrier has blocked this message", False),  # the message, not the number
        ("This delivery would exceed max price", False),
    ],
)
def test_only_a_refusal_about_the_number_itself_stops_texting_it(response, permanent):
    from postventa.logic.sms import permanent_sms_failure

    assert permanent_sms_failure(response) is permanent


@pytest.mark.parametrize(
    ("name", "outcome", "number", "permanent"),
    [
        ("text_delivered.eventbridge", "delivered", None, False),
        ("text_successful.event-destination", "delivered", "+14255550156", False),
        ("text_invalid.eventbridge", "failed", None, True),
    ],
)
def test_end_user_messagings_published_events_read_as_one_texts_status(name, outcome, number, permanent):
    from postventa.models.engagement import SmsVoiceEvent, SmsVoiceRecord

    raw = load_json(PUBLISHED / f"eum_sms_{name}.json")
    record = (
        SmsVoiceEvent.model_validate(raw).detail if "detail" in raw else SmsVoiceRecord.model_validate(raw)
    )
    status = record.text_status()
    assert (status.provider_id, status.outcome, status.number, status.permanent) == (
        raw.get("detail", raw)["messageId"],
        outcome,
        number,
        permanent,
    )
    assert status.at.timestamp() * 1000 == pytest.approx(raw.get("detail", raw)["eventTimestamp"])


@pytest.mark.parametrize(
    ("status", "final", "outcome", "permanent"),
    [
        ("QUEUED", False, "pending", False),
        ("PENDING", False, "pending", False),
        ("BLOCKED", True, "failed", True),
        ("CARRIER_BLOCKED", True, "failed", False),  # the message, not the number
        ("SPAM", True, "failed", False),
        ("TTL_EXPIRED", True, "failed", False),
        ("UNKNOWN", True, "failed", False),  # End User Messaging's verdict after 72 h unanswered
        ("CARRIER_UNREACHABLE", False, "pending", False),  # not final: the carrier may still take it
    ],
)
def test_which_end_user_messaging_statuses_fail_a_text_and_which_refuse_its_number(
    status, final, outcome, permanent
):
    from postventa.models.engagement import SmsVoiceRecord

    raw = load_json(PUBLISHED / "eum_sms_text_invalid.eventbridge.json")["detail"]
    raw.update(eventType=f"TEXT_{status}", messageStatus=status, isFinal=final)
    text = SmsVoiceRecord.model_validate(raw).text_status()
    assert (text.outcome, text.permanent) == (outcome, permanent)
