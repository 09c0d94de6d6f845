"""SES engagement through on_engagement: opens and clicks feed branches, bounces and complaints suppress."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postventa.journeys.loader import load_journey
from postventa.local.simulate import LocalPostventa
from postventa.models.records import MessageStatus
from postventa.models.tags import encode_tag_value
from tests.conftest import EVENTS, FIXTURES, load_json, phase1_journeys, within_spread

SHAPES = load_journey(FIXTURES / "engaged.yaml")


def ses_event(kind: str, message, at: str = "2026-03-02T11:00:00Z") -> dict:
    """The SES record as published (events/ses, from AWS's samples), tagged as our sends are."""
    event = copy.deepcopy(load_json(EVENTS / "ses" / f"email-{kind}.json"))
    event["time"] = at
    tags = event["detail"]["mail"]["tags"]
    sent = {"customer": message.customer_id, "message": message.message_id, "step": message.step}
    tags.update({name: [str(encode_tag_value(value))] for name, value in sent.items()})  # as SES echoes them
    for part in ("open", "click", "bounce", "complaint", "delivery", "deliveryDelay"):
        if part in event["detail"]:
            event["detail"][part]["timestamp"] = at
    return event


@pytest.fixture
def local():
    with LocalPostventa(phase1_journeys(), start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as running:
        yield running


def confirmation(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)
    (message,) = local.services.store.messages_of("cus-ana")
    return message


def test_opens_and_clicks_are_recorded_on_the_message(local):
    message = confirmation(local)
    local.deliver(ses_event("open", message, "2026-03-02T10:00:00Z"))
    local.deliver(ses_event("click", message, "2026-03-02T10:05:00Z"))
    (stored,) = local.services.store.messages_of("cus-ana")
    assert stored.opened_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert stored.clicked_at == datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    assert stored.status is MessageStatus.SENT


def test_a_customer_id_ses_cannot_carry_as_it_is_still_finds_its_message(local):
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"]["id"] = "gid://shopify/Customer/42"
    local.deliver(placed)
    local.engine.run_until(local.engine.now)
    (message,) = local.services.store.messages_of("gid://shopify/Customer/42")
    local.deliver(ses_event("click", message, "2026-03-02T10:05:00Z"))
    (stored,) = local.services.store.messages_of("gid://shopify/Customer/42")
    assert stored.clicked_at == datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


def test_a_permanent_bounce_suppresses_the_address_for_everything_after(local):
    message = confirmation(local)
    local.deliver(ses_event("bounce", message))
    assert local.services.store.get_profile("cus-ana").email_suppressed == "permanent bounce"
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()
    later = [(m.step, m.status, m.reason) for m in local.services.store.messages_of("cus-ana")][1:]
    assert later and all(status is MessageStatus.SUPPRESSED for _, status, _ in later)
    assert {reason for _, _, reason in later} == {"email: address on the suppression list (permanent bounce)"}


def test_a_complaint_suppresses_too(local):
    message = confirmation(local)
    local.deliver(ses_event("complaint", message))
    assert local.services.store.get_profile("cus-ana").email_suppressed == "complaint"
    (stored,) = local.services.store.messages_of("cus-ana")
    assert (stored.status, stored.reason) == (MessageStatus.FAILED, "complaint")


def test_a_transient_bounce_changes_nothing(local):
    message = confirmation(local)
    event = ses_event("bounce", message)
    event["detail"]["bounce"]["bounceType"] = "Transient"
    local.deliver(event)
    assert local.services.store.get_profile("cus-ana").email_suppressed is None


def test_mail_that_is_not_ours_is_ignored_and_bad_events_are_dead_lettered(local):
    message = confirmation(local)
    foreign = ses_event("open", message)
    foreign["detail"]["mail"]["tags"] = {"ses:configuration-set": ["ConfigSet"]}
    assert local.deliver(foreign) == {"batchItemFailures": []}
    broken = ses_event("open", message)
    del broken["detail"]["mail"]["messageId"]
    local.deliver(broken)
    (dead,) = local.dead_letters()
    assert "detail.mail.messageId: Field required" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert local.services.store.messages_of("cus-ana")[0].opened_at is None


def test_an_open_event_steers_the_branch():
    with LocalPostventa({"engaged": SHAPES}, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.engine.run_until(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
        (hello,) = local.services.store.messages_of("cus-ana")
        local.deliver(ses_event("open", hello, "2026-03-02T12:00:00Z"))
        local.engine.run_until_idle()
        steps = [m.step for m in local.services.store.messages_of("cus-ana")]
        assert "tips_for_readers" in steps and "resend_hello" not in steps


def test_published_samples_parse_in_the_eventbridge_envelope():
    from postventa.models.engagement import SesEngagementEvent

    for path in sorted((EVENTS / "ses").glob("*.json")):
        event = SesEngagementEvent.model_validate(load_json(path))
        assert event.detail.mail.messageId.startswith("EXAMPLE")
    assert Path(EVENTS / "ses" / "email-open.json").exists()


def survey_answer(score: int, at: str, event_id: str) -> dict:
    detail = {"customer_id": "cus-ana", "score": score, "answered_at": at}
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Survey Answered",
        "source": "postventa.links",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@pytest.mark.parametrize(
    ("score", "expected"),
    [(3, [("nps-detractor", "service_follow_up")]), (8, []), (10, [("nps-promoter", "referral_request")])],
)
def test_survey_answers_route_detractors_to_service_and_promoters_to_a_referral(score, expected):
    from postventa.journeys.loader import load_journeys

    library = load_journeys()
    journeys = {name: library[name] for name in ("nps-detractor", "nps-promoter")}
    with LocalPostventa(journeys, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))  # Ana: profile, consent, Madrid
        local.deliver(survey_answer(score, "2026-03-20T18:00:00Z", "answer-1"))
        local.engine.run_until_idle()
        sent = [
            (m.journey, m.step)
            for m in local.services.store.messages_of("cus-ana")
            if m.status is MessageStatus.SENT
        ]
        assert sent == expected
        assert local.services.store.latest_nps("cus-ana").score == score
        if score == 10:
            (referral,) = local.services.store.messages_of("cus-ana")
            # answered 19:00 in Madrid: a day later, then 10:00 the morning after (the survey's
            # day of the daily cap is over), in the half hour that morning's sends are spread over
            assert within_spread(referral.at, datetime(2026, 3, 22, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("engagement", "expected"),
    [("click", []), ("open", ["review_reminder"]), (None, ["review_request_resend"])],
    ids=["clicked-no-reminder", "opened-reminder", "ignored-resend"],
)
def test_the_review_request_adapts_to_what_the_customer_did(engagement, expected):
    from postventa.journeys.loader import load_journeys

    journeys = {"post-purchase": load_journeys()["post-purchase"]}
    with LocalPostventa(journeys, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.deliver(load_json(EVENTS / "order-fulfilled.json"))
        local.engine.run_until(
            datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
        )  # the review request went out at 08:30
        review = next(m for m in local.services.store.messages_of("cus-ana") if m.step == "review_request")
        if engagement:
            local.deliver(ses_event(engagement, review, "2026-03-15T10:00:00Z"))
        local.engine.run_until_idle()
        follow_ups = [
            m.step for m in local.services.store.messages_of("cus-ana") if m.step.startswith("review_")
        ]
        assert follow_ups == ["review_request", *expected]


def test_delivery_delay_and_reject_are_recorded(local):
    message = confirmation(local)
    local.deliver(ses_event("delivery-delay", message, "2026-03-02T10:00:00Z"))
    local.deliver(ses_event("delivery", message, "2026-03-02T10:30:00Z"))
    (stored,) = local.services.store.messages_of("cus-ana")
    assert stored.delayed_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert stored.delivered_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    local.deliver(ses_event("reject", message, "2026-03-02T10:40:00Z"))
    (stored,) = local.services.store.messages_of("cus-ana")
    assert (stored.status, stored.reason) == (MessageStatus.FAILED, "rejected by SES (Bad content)")
    assert (
        local.services.store.get_profile("cus-ana").email_suppressed is None
    )  # the message, not the address


@pytest.mark.parametrize("clicks", [True, False])
def test_a_click_resumes_a_wait_for_message_clicked_in_the_same_execution(clicks):
    journey = load_journey(FIXTURES / "clicked.yaml")
    with LocalPostventa({"clicked": journey}, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        message = confirmation(local)
        if clicks:
            local.deliver(ses_event("click", message, "2026-03-03T08:00:00Z"))
        local.engine.run_until_idle()
        steps = [(m.step, m.status) for m in local.services.store.messages_of("cus-ana")]
    expected = [("offer", MessageStatus.SENT)] + (
        [("thanks_for_clicking", MessageStatus.SENT)] if clicks else []
    )
    assert steps == expected


def test_an_sms_stop_reply_opts_the_number_out_and_start_opts_it_back_in(local):
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"].update(phone="612 34 56 78", sms_transactional="subscribed")  # national, ES
    local.deliver(placed)
    stop = load_json(EVENTS / "sms" / "inbound-stop.json")
    assert local.receive(stop)["batchItemFailures"] == []
    profile = local.services.store.get_profile("cus-ana")
    assert profile.sms_opted_out == "replied STOP"
    local.receive({**stop, "messageBody": "START", "inboundMessageId": "again"})
    assert local.services.store.get_profile("cus-ana").sms_opted_out is None
    local.receive({**stop, "originationNumber": "+14255550182"})  # a stranger's STOP changes nothing
    assert local.services.store.get_profile("cus-ana").sms_opted_out is None
    # each choice said on the bus, the whole consent after it, stated when the reply came
    said = [event["detail"] for event in local.consent_said()]
    assert [(d["customer_id"], d["stated_by"], d["sms_opted_out"]) for d in said] == [
        ("cus-ana", "sms_reply", True),
        ("cus-ana", "sms_reply", False),
    ]
    assert {d["stated_at"] for d in said} == {local.engine.now.isoformat().replace("+00:00", "Z")}


def _emailed_confirmation(local):
    """Ana's order, her chosen channels email then SMS: the confirmation, emailed."""
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"].update(
        phone="+34612345678", sms_transactional="subscribed", channels=["email", "sms"]
    )
    local.deliver(placed)
    local.engine.run_until(local.engine.now + timedelta(minutes=1))
    (emailed,) = [m for m in local.messages() if m.step == "order_confirmation"]
    return emailed


def test_a_hard_bounced_confirmation_goes_again_by_text_where_the_journey_says_so():
    """The default post-purchase journey waits an hour for Message Undelivered: a permanent
    bounce suppresses the address and sends the same receipt by the customer's next channel."""
    from tests.integration.conftest import sent_sms

    with LocalPostventa(start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        emailed = _emailed_confirmation(local)
        assert emailed.channel == "email"
        local.deliver(ses_event("bounce", emailed, "2026-03-02T09:02:00Z"))
        local.engine.run_until(local.engine.now + timedelta(hours=2))
        (texted,) = [m for m in local.messages() if m.step == "order_confirmation_fallback"]
        assert (texted.channel, texted.status) == ("sms", MessageStatus.SENT)
        assert texted.reason == "email: address on the suppression list (permanent bounce)"
        assert [number for number, _ in sent_sms()] == ["+34612345678"]


def test_a_complaint_is_not_a_refusal_and_sends_no_fallback():
    with LocalPostventa(start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        emailed = _emailed_confirmation(local)
        local.deliver(ses_event("complaint", emailed, "2026-03-02T09:02:00Z"))
        local.engine.run_until(local.engine.now + timedelta(hours=2))
        assert not [m for m in local.messages() if m.step == "order_confirmation_fallback"]
