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
from tests.integration.conftest import T0, sent_sms

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
    assert answer == {"records": [{"ignored": "no customer has this number"}]}


def test_a_delivery_of_a_text_not_ours_changes_nothing(local):
    texted_order(local, "+34612345678")
    before = confirmation(local)
    record = published("success", message_id="not-ours", number="+34612345678")
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {"records": [{"ignored": "no text of Postventa's with this id to this number"}]}
    assert confirmation(local) == before


def test_a_refused_number_is_suppressed_even_when_the_texts_id_was_never_learnt(local):
    """SNS took the text but its answer was lost: the message is recorded with an unknown outcome,
    no provider id to match. The carrier's refusal of the number still holds for the next texts."""
    texted_order(local, "+34612345678")
    record = published(
        "failure", message_id="id-never-learnt", number="+34612345678", response="Phone is on a blocked list"
    )
    answer = status_handler(local)(cloudwatch_logs_event(SMS_LOG_GROUP, [record], T0), None)
    assert answer == {"records": [{"message_id": None, "recorded": ["number suppressed"]}]}
    profile = local.services.store.get_profile("cus-ana")
    assert profile.sms_opted_out == "carrier: Phone is on a blocked list"
    assert confirmation(local).status is MessageStatus.SENT  # not the text the log is about
