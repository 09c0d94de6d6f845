"""SMS delivery status: SNS's delivery-status log records (the published format) through the
CloudWatch Logs subscription to on_sms_status; a text reaches delivered or failed with the
carrier's words, and a number the carrier refuses for good gets no more texts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postventa.local.simulate import (
    SMS_LOG_GROUP,
    UNDELIVERABLE_NUMBERS,
    LocalPostventa,
    _FakeLambdaContext,
    cloudwatch_logs_event,
)
from postventa.models.records import MessageStatus
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_emails, sent_sms

PUBLISHED = EVENTS / "published"


@pytest.fixture
def local():
    with LocalPostventa(start=T0) as running:
        yield running


def texted_order(local, number: str, order_id: str = "A-1001", days: float = 0) -> None:
    placed = load_json(EVENTS / "order-placed.json")
    placed["id"] = f"evt-{order_id}"
    placed["time"] = (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    placed["detail"]["order_id"] = order_id
    placed["detail"]["customer"].update(
        phone=number, sms_transactional="subscribed", channels=["sms", "email"]
    )
    local.deliver(placed)
    local.engine.run_until(local.engine.now + timedelta(minutes=1))


def confirmation(local, order_id: str = "A-1001"):
    return next(m for m in local.messages() if m.step == "order_confirmation" and m.order_id == order_id)


def published(name: str, **changes) -> str:
    """The published record with this run's message id and number in it."""
    record = load_json(PUBLISHED / f"sns_sms_delivery_log_{name}.json")
    record["notification"]["messageId"] = changes["message_id"]
    record["delivery"]["destination"] = changes["number"]
    if "at" in changes:  # SNS's own format: UTC, no zone
        record["notification"]["timestamp"] = changes["at"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if "response" in changes:
        record["delivery"]["providerResponse"] = changes["response"]
    return json.dumps(record)


def status_handler(local):
    """on_sms_status as CloudWatch Logs invokes it."""
    return lambda event, _: local.lambdas["on_sms_status"](
        event, _FakeLambdaContext("postventa-on_sms_status")
    )


def test_a_text_the_carrier_accepted_is_recorded_delivered(local):
    texted_order(local, "612 34 56 78")  # the local stand-in reports it delivered 5 s later
    text = confirmation(local)
    assert (text.channel, text.status) == ("sms", MessageStatus.SENT)
    assert text.delivered_at == text.sent_at + timedelta(seconds=5)


def test_the_published_records_through_the_subscription_mark_a_text_delivered_then_failed(local):
    texted_order(local, "612 34 56 78")
    text = confirmation(local)
    record = published("failure", message_id=text.provider_message_id, number="+34612345678")
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP + "/Failure", [record], T0), None)
    assert answer == {"records": [{"message_id": text.message_id, "recorded": ["failed"]}]}
    failed = confirmation(local)
    assert (failed.status, failed.reason) == (
        MessageStatus.FAILED,
        "sms: Unknown error attempting to reach phone",
    )
    # an unreachable phone is not a bad number: the next order is texted again
    texted_order(local, "612 34 56 78", "A-1002", days=1)
    assert confirmation(local, "A-1002").channel == "sms"


def test_a_number_the_carrier_refuses_for_good_is_suppressed_and_the_next_message_goes_by_email(local):
    number = next(iter(UNDELIVERABLE_NUMBERS))
    texted_order(local, number)
    text = confirmation(local)
    assert (text.status, text.reason) == (MessageStatus.FAILED, f"sms: {UNDELIVERABLE_NUMBERS[number]}")
    profile = local.services.store.get_profile(text.customer_id)
    assert profile.sms_opted_out == f"carrier: {UNDELIVERABLE_NUMBERS[number]}"
    texted_order(local, number, "A-1002", days=1)
    again = confirmation(local, "A-1002")
    assert (again.channel, again.status) == ("email", MessageStatus.SENT)
    assert again.reason == f"sms: number opted out (carrier: {UNDELIVERABLE_NUMBERS[number]})"
    assert len(sent_sms()) == 1


def test_a_record_that_is_not_a_delivery_log_waits_in_the_dead_letter_queue_and_the_rest_is_applied(local):
    texted_order(local, "612 34 56 78")
    text = confirmation(local)
    good = published("success", message_id=text.provider_message_id, number="+34612345678")
    event = cloudwatch_logs_event(SMS_LOG_GROUP, ['{"notification": {}}', good], T0)
    answer = status_handler(local)(event, None)
    assert answer["records"][1] == {"message_id": text.message_id, "recorded": ["delivered"]}
    assert "notification.messageId" in answer["records"][0]["invalid"]
    (kept,) = local.dead_letters()
    assert json.loads(kept["Body"]) == {"notification": {}}


def test_a_log_of_a_number_no_customer_has_is_ignored():
    with LocalPostventa(start=T0) as local:
        record = published("failure", message_id="not-ours", number="+14155550100")
        answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {
        "records": [{"ignored": "no text of Postventa's with this id, no customer with this number"}]
    }


def test_a_delivery_of_a_text_not_ours_changes_nothing(local):
    texted_order(local, "+34612345678")
    before = confirmation(local)
    record = published("success", message_id="not-ours", number="+34612345678")
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {"records": [{"ignored": "no text of Postventa's with this id"}]}
    assert confirmation(local) == before


def _answer_lost(local):
    """SNS took the confirmation but its answer was lost: recorded with an unknown outcome, no id."""
    text = confirmation(local)
    unknown = {
        "status": MessageStatus.FAILED,
        "reason": "sms: interrupted after it was handed over; outcome unknown, not sent again",
        "provider_message_id": None,
        "sent_at": None,
        "delivered_at": None,
        "handed_over_at": text.sent_at,
    }
    local.services.store.save_message(text.model_copy(update=unknown))
    return text


def _blocked(message_id: str, at) -> str:
    """SNS's failure log of a text to Ana's number, the carrier refusing the number."""
    return published(
        "failure", message_id=message_id, number="+34612345678", response="Phone is on a blocked list", at=at
    )


def test_the_carriers_word_on_a_text_whose_id_was_lost_is_that_texts_outcome_and_the_receipt_goes_by_email(
    local,
):
    texted_order(local, "+34612345678")
    text = _answer_lost(local)
    record = _blocked("id-never-learnt", text.sent_at + timedelta(seconds=1))
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {
        "records": [{"message_id": text.message_id, "recorded": ["failed", "number suppressed"]}]
    }
    learnt = confirmation(local)
    assert (learnt.status, learnt.reason, learnt.provider_message_id) == (
        MessageStatus.FAILED,
        "sms: Phone is on a blocked list",
        "id-never-learnt",
    )
    local.engine.run_until(local.engine.now + timedelta(hours=2))
    (fallback,) = [m for m in local.messages() if m.step == "order_confirmation_fallback"]
    assert (fallback.channel, fallback.status) == ("email", MessageStatus.SENT)
    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [["ana@example.com"]]


def test_a_delivered_text_whose_id_was_lost_is_recorded_sent(local):
    texted_order(local, "+34612345678")
    text = _answer_lost(local)
    at = text.sent_at + timedelta(seconds=1)
    record = published("success", message_id="id-never-learnt", number="+34612345678", at=at)
    status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    learnt = confirmation(local)
    assert (learnt.status, learnt.reason, learnt.sent_at, learnt.delivered_at) == (
        MessageStatus.SENT,
        None,
        text.sent_at,
        at,
    )
    assert local.services.store.text_by_provider_id("id-never-learnt") == learnt


def test_a_refusal_outside_the_texts_time_to_live_only_suppresses_the_number(local):
    """Three days after the text whose id was lost, a refusal of the number is of some other text:
    the number gets no more texts, the lost text's outcome stays unknown."""
    texted_order(local, "+34612345678")
    text = _answer_lost(local)
    record = _blocked("another-text", text.sent_at + timedelta(hours=73))
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {"records": [{"message_id": None, "recorded": ["number suppressed"]}]}
    assert local.services.store.get_profile("cus-ana").sms_opted_out == "carrier: Phone is on a blocked list"
    assert confirmation(local).provider_message_id is None


def sms_voice_event(name: str, message_id: str, at=T0) -> dict:
    """End User Messaging's published EventBridge event, about this run's text."""
    event = load_json(PUBLISHED / f"eum_sms_text_{name}.eventbridge.json")
    event["detail"]["messageId"] = message_id
    event["detail"]["eventTimestamp"] = int(at.timestamp() * 1000)
    return event


def test_end_user_messagings_event_on_the_default_bus_finds_the_text_by_its_id_alone(local):
    """The EventBridge form names no number: the text is found through the index of provider ids."""
    texted_order(local, "612 34 56 78")
    text = confirmation(local)
    local.services.store.save_message(text.model_copy(update={"delivered_at": None}))
    at = T0 + timedelta(minutes=2)
    answer = status_handler(local)(sms_voice_event("delivered", text.provider_message_id, at), None)
    assert answer == {"records": [{"message_id": text.message_id, "recorded": ["delivered"]}]}
    assert confirmation(local).delivered_at == at


def test_a_status_on_the_way_or_of_another_senders_text_changes_nothing(local):
    texted_order(local, "612 34 56 78")
    before = confirmation(local)
    queued = sms_voice_event("delivered", before.provider_message_id)
    queued["detail"].update(eventType="TEXT_QUEUED", messageStatus="QUEUED", isFinal=False)
    assert status_handler(local)(queued, None) == {
        "records": [{"ignored": "not final: QUEUED: Message has been accepted by phone"}]
    }
    other = sms_voice_event("invalid", "another-apps-text")
    assert status_handler(local)(other, None) == {
        "records": [{"ignored": "no text of Postventa's with this id, no customer with this number"}]
    }
    assert confirmation(local) == before


def test_an_invalid_number_event_suppresses_the_number_and_the_receipt_goes_again_by_email(local):
    """post-purchase waits an hour for Message Undelivered after the confirmation: the carrier's
    refusal resumes it and the same receipt goes by the customer's next channel, once."""
    local.faults.on_accepted.remove(local.sms_status.taken)  # no SNS log: End User Messaging's event says it
    texted_order(local, "612 34 56 78")
    text = confirmation(local)
    assert text.channel == "sms"
    answer = status_handler(local)(sms_voice_event("invalid", text.provider_message_id), None)
    assert answer == {
        "records": [{"message_id": text.message_id, "recorded": ["failed", "number suppressed"]}]
    }
    local.engine.run_until(local.engine.now + timedelta(hours=2))
    refused = confirmation(local)
    assert (refused.status, refused.reason) == (
        MessageStatus.FAILED,
        "sms: INVALID: Destination phone number is invalid",
    )
    (fallback,) = [m for m in local.messages() if m.step == "order_confirmation_fallback"]
    assert (fallback.channel, fallback.status, fallback.template) == (
        "email",
        MessageStatus.SENT,
        "order_confirmation",
    )
    assert fallback.reason == "sms: number opted out (carrier: INVALID: Destination phone number is invalid)"
    assert [to for to, _ in sent_sms()] == ["+34612345678"]
    assert [m.destinations["ToAddresses"] for m in sent_emails()] == [["ana@example.com"]]
    # a second delivery of the same event: nothing more is recorded or sent
    status_handler(local)(sms_voice_event("invalid", text.provider_message_id), None)
    local.engine.run_until(local.engine.now + timedelta(hours=2))
    assert len([m for m in local.messages() if m.step == "order_confirmation_fallback"]) == 1
    assert len(sent_emails()) == 1


def test_a_delivered_confirmation_sends_no_fallback(local):
    texted_order(local, "612 34 56 78")  # the stand-in log says delivered
    local.engine.run_until(local.engine.now + timedelta(hours=2))
    assert not [m for m in local.messages() if m.step == "order_confirmation_fallback"]
    assert sent_emails() == []


def test_an_event_that_is_not_end_user_messagings_waits_in_the_dead_letter_queue(local):
    event = sms_voice_event("delivered", "x")
    del event["detail"]["messageId"]
    answer = status_handler(local)(event, None)
    assert "detail.messageId" in answer["records"][0]["invalid"]
    (kept,) = local.dead_letters()
    assert json.loads(kept["Body"])["detail-type"] == "Text Message Delivery Status Updated"


@pytest.mark.parametrize(
    ("spoke", "falls_back"), [(timedelta(seconds=5), True), (-timedelta(hours=2), False)]
)
def test_a_refusal_stored_by_an_attempt_that_died_still_resumes_the_wait_it_answers(local, spoke, falls_back):
    """The first attempt stored the failure and died before it resumed the journey: the retry
    resumes it. A word older than the wait by more than an hour answers some earlier message."""
    local.faults.on_accepted.remove(local.sms_status.taken)  # End User Messaging's event says it
    texted_order(local, "612 34 56 78")
    text = confirmation(local)
    refused = {"status": MessageStatus.FAILED, "reason": "sms: INVALID: Destination phone number is invalid"}
    local.services.store.save_message(text.model_copy(update=refused))
    status_handler(local)(sms_voice_event("invalid", text.provider_message_id, text.sent_at + spoke), None)
    local.engine.run_until(local.engine.now + timedelta(hours=2))
    fallbacks = [m for m in local.messages() if m.step == "order_confirmation_fallback"]
    assert [(m.channel, m.status) for m in fallbacks] == (
        [("email", MessageStatus.SENT)] if falls_back else []
    )
