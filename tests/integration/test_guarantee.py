"""The delivery guarantee, one fault at a time: each fault the issue found losing a message or a
journey, placed at the exact AWS call, checked at the provider (what SES was asked to send)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from postventa.local.faults import FaultInjector, PlacedFault
from postventa.local.simulate import LocalPostventa
from postventa.models.records import MessageStatus
from tests.conftest import EVENTS, load_json, phase1_journeys
from tests.integration.conftest import T0, sent_emails, sent_sms

EVERY_STEP = ["order_confirmation", "product_tips", "review_request", "nps_survey"]


def _body(text: str):
    return lambda params: text in str(params.get("body"))


FAULTS = {
    # A send that raised anything but a throttle or a rejection left the claim `sending` for good.
    "ses-5xx": PlacedFault("sesv2.SendEmail", "server_error"),
    "ses-connection": PlacedFault("sesv2.SendEmail", "connection"),
    "ses-paused": PlacedFault("sesv2.SendEmail", "sending_paused", times=2),  # a pause held, not a rejection
    # The contact ledger: a concurrent send won the version (contention), or DynamoDB throttled.
    "ledger-contention": PlacedFault("dynamodb.PutItem", "conditional_failed", _body('"CONTACTS"'), times=3),
    "ledger-throttled": PlacedFault("dynamodb.PutItem", "throttled", _body('"CONTACTS"')),
    "ledger-read-throttled": PlacedFault("dynamodb.GetItem", "throttled", _body('"CONTACTS"')),
    "rate-limiter-throttled": PlacedFault("dynamodb.UpdateItem", "throttled", _body('"RATE#email"')),
    # The invocation died (Sandbox.Timedout) before, or after SES took the message.
    "crash-before-send": PlacedFault("sesv2.SendEmail", "crash_before"),
    "crash-after-send": PlacedFault("sesv2.SendEmail", "crash_after"),
    "answer-lost-after-send": PlacedFault("sesv2.SendEmail", "lost_answer"),
    # A later step's failure used to end the execution and every step after it.
    "tips-5xx": PlacedFault("sesv2.SendEmail", "server_error", _body("product_tips")),
}


@pytest.mark.parametrize("placed", FAULTS.values(), ids=FAULTS.keys())
def test_a_fault_at_any_call_of_a_send_neither_loses_the_message_nor_sends_it_twice(placed):
    faults = FaultInjector(rate=0.0, placed=[placed])
    with LocalPostventa(phase1_journeys(), start=T0, faults=faults) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.deliver(load_json(EVENTS / "order-fulfilled.json"))
        local.engine.run_until_idle()

        assert sum(faults.injected.values()) >= 1, "the fault was placed on a call that never happened"
        subjects = Counter(message.subject for message in sent_emails())
        assert len(subjects) == len(EVERY_STEP) and set(subjects.values()) == {1}, subjects
        assert [(m.step, m.status) for m in local.messages()] == [
            (step, MessageStatus.SENT) for step in EVERY_STEP
        ]
        assert max(faults.handed_over.values()) == 1
        assert {e.status for e in local.engine.executions.values()} == {"SUCCEEDED"}


def _texted_confirmation(placed: PlacedFault, *, carrier_logs: bool = True):
    faults = FaultInjector(rate=0.0, placed=[placed])
    with LocalPostventa(start=T0, faults=faults) as local:
        if not carrier_logs:
            local.faults.on_accepted.remove(local.sms_status.taken)  # no carrier's log
        order = load_json(EVENTS / "order-placed.json")
        order["detail"]["customer"].update(
            phone="612 34 56 78", sms_transactional="subscribed", channels=["sms", "email"]
        )
        local.deliver(order)
        local.engine.run_until(local.engine.now + timedelta(minutes=30))
        assert sum(faults.injected.values()) == 1
        confirmation = next(m for m in local.messages() if m.step == "order_confirmation")
        failed = [e for e in local.engine.executions.values() if e.status == "FAILED"]
        return confirmation, sent_sms(), failed, sent_emails()


def test_an_sms_whose_publish_failed_is_texted_once_on_the_retry():
    confirmation, texts, failed, _ = _texted_confirmation(PlacedFault("sns.Publish", "server_error"))
    assert (confirmation.channel, confirmation.status) == ("sms", MessageStatus.SENT)
    assert [phone for phone, _ in texts] == ["+34612345678"] and failed == []


@pytest.mark.parametrize("kind", ["crash_after", "lost_answer"])
def test_an_sms_interrupted_after_sns_took_it_is_recorded_failed_never_texted_twice(kind):
    """SNS gives no proof a text went out but its answer: the window the guarantee names."""
    confirmation, texts, failed, emails = _texted_confirmation(
        PlacedFault("sns.Publish", kind), carrier_logs=False
    )
    assert [phone for phone, _ in texts] == ["+34612345678"]
    assert confirmation.status is MessageStatus.FAILED and "outcome unknown" in confirmation.reason
    assert failed == []
    # the receipt again, by email: a second text could arrive twice
    (fallback,) = emails
    assert (fallback.destinations["ToAddresses"], fallback.subject) == (
        ["ana@example.com"],
        "Gracias por tu pedido #1001, Ana",
    )


@pytest.mark.parametrize("kind", ["crash_after", "lost_answer"])
def test_the_carriers_log_of_an_sms_whose_answer_was_lost_records_it_sent_once(kind):
    """SNS's delivery log names the number: it is the one text of this customer with no id yet."""
    confirmation, texts, failed, emails = _texted_confirmation(PlacedFault("sns.Publish", kind))
    assert [phone for phone, _ in texts] == ["+34612345678"]
    assert (confirmation.status, confirmation.reason) == (MessageStatus.SENT, None)
    assert confirmation.provider_message_id is not None and confirmation.delivered_at is not None
    assert failed == [] and emails == []  # delivered: no receipt again
