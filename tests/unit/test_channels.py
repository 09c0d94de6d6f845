"""Channel choice: the step's order or the customer's, consent per channel and purpose,
reachability and the journey's phase; and SMS numbers and segments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postventa.journeys.model import Phase, Purpose
from postventa.logic.channels import route
from postventa.logic.sms import e164, sms_size
from postventa.models.events import Channel, ConsentState, PushPlatform, PushTokenV1
from postventa.models.records import CustomerProfile

S, N, U = ConsentState.SUBSCRIBED, ConsentState.NOT_SUBSCRIBED, ConsentState.UNSUBSCRIBED
TOKEN = PushTokenV1(platform=PushPlatform.APNS, token="a" * 64)


def customer(**changes) -> CustomerProfile:
    everything = {
        "customer_id": "c1",
        "email": "c1@example.com",
        "phone": "+14155550100",
        "country": "US",
        "push_tokens": [TOKEN],
        "email_marketing": S,
        "sms_marketing": S,
        "push_marketing": S,
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    return CustomerProfile(**{**everything, **changes})


def channels(steps, purpose=Purpose.MARKETING, phase=Phase.ALL_CHANNELS, **changes):
    routing = route(steps, purpose, phase, customer(**changes))
    return [r.channel.value for r in routing.routes], routing.passed_over


def test_a_step_lists_channels_in_order_of_preference():
    assert channels([Channel.SMS, Channel.EMAIL]) == (["sms", "email"], [])


def test_preferred_follows_the_customers_choice_for_marketing_only():
    assert channels("preferred", channels=[Channel.PUSH]) == (["push"], [])
    # a receipt still reaches them, their chosen channel first
    assert channels("preferred", Purpose.TRANSACTIONAL, channels=[Channel.PUSH], sms_transactional=S) == (
        ["push", "email", "sms"],
        [],
    )
    assert channels("preferred") == (["email", "sms", "push"], [])  # no choice made: email first


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sms_marketing": N}, "sms: no consent to marketing SMS"),
        ({"sms_marketing": U}, "sms: unsubscribed from marketing SMS"),
        ({"phone": None}, "sms: no phone number"),
        ({"phone": "12"}, "sms: no valid phone number"),
        ({"sms_opted_out": "replied STOP"}, "sms: number opted out (replied STOP)"),
        ({"channels": [Channel.EMAIL]}, "sms: not a channel the customer chose"),
    ],
)
def test_sms_falls_back_to_email_and_says_why(changes, reason):
    assert channels([Channel.SMS, Channel.EMAIL], **changes) == (["email"], [reason])


def test_a_message_standing_in_for_another_never_takes_its_channel():
    routing = route(
        "preferred",
        Purpose.TRANSACTIONAL,
        Phase.ALL_CHANNELS,
        customer(channels=[Channel.SMS, Channel.EMAIL], sms_transactional=S),
        instead_of=("order_confirmation", Channel.SMS),
    )
    assert [r.channel for r in routing.routes] == [Channel.EMAIL, Channel.PUSH]
    assert routing.passed_over == ["sms: the order_confirmation message went this way"]


def test_no_sms_without_consent_even_for_a_receipt():
    assert channels([Channel.SMS], Purpose.TRANSACTIONAL, sms_marketing=N) == ([], ["sms: no consent to SMS"])
    assert channels([Channel.SMS], Purpose.TRANSACTIONAL, sms_marketing=N, sms_transactional=S) == (
        ["sms"],
        [],
    )
    assert channels([Channel.SMS], Purpose.TRANSACTIONAL, sms_marketing=S) == (["sms"], [])  # implies it


def test_push_needs_an_app_installation_and_marketing_consent():
    assert channels([Channel.PUSH], push_tokens=[]) == ([], ["push: no app installation (push token)"])
    assert channels([Channel.PUSH], push_marketing=N) == ([], ["push: no consent to marketing push"])
    assert channels([Channel.PUSH], Purpose.TRANSACTIONAL, push_marketing=N) == (["push"], [])


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.EMAIL, ["email"]),
        (Phase.EMAIL_AND_SMS, ["sms", "email"]),
        (Phase.ALL_CHANNELS, ["push", "sms", "email"]),
    ],
)
def test_the_journeys_phase_adds_channels_one_at_a_time(phase, expected):
    assert (
        channels("preferred", phase=phase, channels=[Channel.PUSH, Channel.SMS, Channel.EMAIL])[0] == expected
    )


def test_a_listed_channel_outside_the_phase_is_named():
    assert channels([Channel.PUSH, Channel.EMAIL], phase=Phase.EMAIL) == (
        ["email"],
        ["push: not in this journey's phase"],
    )


def test_when_no_channel_is_left_every_reason_is_kept():
    routing = route(
        "preferred",
        Purpose.MARKETING,
        Phase.ALL_CHANNELS,
        customer(email_marketing=U, phone=None, push_tokens=[]),
    )
    assert routing.routes == []
    assert routing.reason == (
        "email: unsubscribed from marketing email; sms: no phone number; push: no app installation (push token)"
    )


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("+34 612 34 56 78", None, "+34612345678"),
        ("555-0100", None, None),  # national without a country: unknowable
        ("+1 415 555", "US", None),
        ("not a number", "US", None),
    ],
)
def test_numbers_are_sent_in_e164(phone, country, expected):
    assert e164(phone, country) == expected


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("x" * 160, "GSM-7", 1),
        ("x" * 161, "GSM-7", 2),  # 153 per part once split
        ("x" * 306, "GSM-7", 2),
        ("x" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # the euro sign costs two septets
        ("€" * 81, "GSM-7", 2),
        ("Tu pedido está en camino", "UCS-2", 1),  # one á and the whole text is UCS-2
        ("á" * 70, "UCS-2", 1),
        ("á" * 71, "UCS-2", 2),  # 67 per part
        ("👟" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
        ("👟" * 36, "UCS-2", 2),
    ],
)
def test_sms_segments_for_gsm7_and_ucs2(text, encoding, segments):
    size = sms_size(text)
    assert (size.encoding, size.segments) == (encoding, segments)


def test_the_inbox_is_named_by_a_step_and_never_preferred():
    assert channels([Channel.INBOX, Channel.EMAIL]) == (["inbox", "email"], [])
    assert "inbox" not in channels("preferred")[0]
    assert "inbox" not in channels("preferred", Purpose.TRANSACTIONAL, sms_transactional=S)[0]
    # it needs the app's phase, as push does
    assert channels([Channel.INBOX, Channel.EMAIL], phase=Phase.EMAIL_AND_SMS)[0] == ["email"]


def test_the_inbox_reaches_customers_with_the_app_whatever_the_channels_they_chose():
    # promotions there need no channel's consent, and a choice of channels binds what reaches out
    no_consent = {"email_marketing": N, "sms_marketing": N, "push_marketing": N}
    assert channels([Channel.INBOX], channels=[Channel.EMAIL], **no_consent) == (["inbox"], [])
    # without the app there is no inbox: the message goes by the next channel, nothing passed over
    assert channels([Channel.INBOX, Channel.EMAIL], push_tokens=[]) == (["email"], [])
    routing = route([Channel.INBOX], Purpose.MARKETING, Phase.ALL_CHANNELS, customer(push_tokens=[]))
    assert routing.reason == "inbox: no app installation (push token)"


def test_the_inbox_holds_no_promotion_for_a_customer_who_unsubscribed_everywhere():
    everywhere = {"email_marketing": U, "sms_marketing": U, "push_marketing": N}
    assert channels([Channel.INBOX], **everywhere) == (
        [],
        ["inbox: unsubscribed from marketing on every channel"],
    )
    # a receipt still goes there, and one channel still subscribed keeps promotions in the app
    assert channels([Channel.INBOX], Purpose.TRANSACTIONAL, **everywhere) == (["inbox"], [])
    assert channels([Channel.INBOX], **{**everywhere, "push_marketing": S}) == (["inbox"], [])
