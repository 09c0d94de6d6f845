"""SMS through SNS (moto), push through Pinpoint (botocore's Stubber: moto lacks SendMessages),
the one-click unsubscribe headers, and the per-channel sending rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from postventa.adapters.push import PinpointPushSender
from postventa.adapters.rate import DynamoRateLimiter
from postventa.adapters.sms import SnsSmsSender
from postventa.local.simulate import LocalPostventa
from postventa.logic.render import RenderedMessage
from postventa.models.events import Channel, ConsentState, PushPlatform, PushTokenV1
from postventa.models.records import MessageStatus
from postventa.services.errors import RecipientOptedOut, SendRejected, SendThrottled
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_sms

APNS = PushTokenV1(platform=PushPlatform.APNS, token="a" * 64)
FCM = PushTokenV1(platform=PushPlatform.FCM, token="f" * 64)


@pytest.fixture
def default_library():
    with LocalPostventa(start=T0) as running:
        yield running


def order_for(local, **customer) -> None:
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"].update(customer)
    local.deliver(placed)
    local.engine.run_until(local.engine.now)


def test_a_customer_who_chose_sms_gets_the_confirmation_by_sms_in_spanish(default_library):
    order_for(
        default_library, phone="612 34 56 78", sms_transactional="subscribed", channels=["sms", "email"]
    )
    ((phone, text),) = sent_sms()
    assert phone == "+34612345678"
    assert text.startswith("Postventa Demo Shop: gracias por tu pedido #1001, Ana.")
    assert "STOP" not in text  # a receipt, not marketing
    confirmation = next(m for m in default_library.messages() if m.step == "order_confirmation")
    assert (confirmation.channel, confirmation.status, confirmation.segments) == (
        "sms",
        MessageStatus.SENT,
        1,
    )


def test_without_sms_consent_the_confirmation_falls_back_to_email(default_library):
    order_for(default_library, phone="612 34 56 78", channels=["sms", "email"])
    assert sent_sms() == []
    confirmation = next(m for m in default_library.messages() if m.step == "order_confirmation")
    assert (confirmation.channel, confirmation.reason) == ("email", "sms: no consent to SMS")


def test_sms_consent_from_shopify_lets_the_next_order_be_texted(default_library):
    default_library.deliver(load_json(EVENTS / "shopify" / "customers-marketing-consent-update.json"))
    profile = default_library.services.store.get_profile("9007199254740993001")
    assert (profile.phone, profile.sms_marketing) == ("+13125550123", ConsentState.SUBSCRIBED)
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"] = {"id": 9007199254740993001, "email": "ben@example.com", "country": "US"}
    placed["detail"]["customer"]["channels"] = ["sms", "email"]
    default_library.deliver(placed)
    default_library.engine.run_until(default_library.engine.now)
    ((phone, _),) = sent_sms()
    assert phone == "+13125550123"  # marketing consent covers order updates too


def test_a_number_on_the_opt_out_list_is_never_texted_and_remembered(default_library):
    # moto's SNS answers "opted out" for numbers ending in 99
    order_for(
        default_library, phone="+14155550199", country="US", sms_transactional="subscribed", channels=["sms"]
    )
    assert sent_sms() == []
    confirmation = next(m for m in default_library.messages() if m.step == "order_confirmation")
    assert (confirmation.channel, confirmation.status) == ("email", MessageStatus.SENT)
    assert confirmation.reason == "sms: number opted out (replied STOP)"
    assert (
        default_library.services.store.get_profile("cus-ana").sms_opted_out
        == "number opted out (replied STOP)"
    )


def test_sms_requests_carry_type_and_sender_id():
    client = boto3.client("sns", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "check_if_phone_number_is_opted_out", {"isOptedOut": False}, {"phoneNumber": "+14155550100"}
        )
        stub.add_response(
            "publish",
            {"MessageId": "sns-1"},
            {
                "PhoneNumber": "+14155550100",
                "Message": "Shop: hi",
                "MessageAttributes": {
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "SHOP"},
                },
            },
        )
        sender = SnsSmsSender(client, sender_id="SHOP")
        message = RenderedMessage(text="Shop: hi", marketing=True)
        assert sender.send(to="+14155550100", message=message, tags={}) == "sns-1"
        stub.add_response("check_if_phone_number_is_opted_out", {"isOptedOut": False})
        stub.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
        with pytest.raises(SendThrottled):
            sender.send(to="+14155550100", message=message, tags={})


def push_response(*statuses: str) -> dict:
    return {
        "MessageResponse": {
            "ApplicationId": "app-1",
            "Result": {
                token: {"DeliveryStatus": status, "StatusCode": 200, "MessageId": f"msg-{index}"}
                for index, (token, status) in enumerate(zip(["a" * 64, "f" * 64], statuses, strict=False))
            },
        }
    }


def test_push_goes_to_every_installation_with_the_journeys_context():
    client = boto3.client("pinpoint", region_name="us-east-1")
    message = RenderedMessage(title="Your order", text="It shipped", marketing=False)
    expected = {
        "ApplicationId": "app-1",
        "MessageRequest": {
            "Addresses": {"a" * 64: {"ChannelType": "APNS"}, "f" * 64: {"ChannelType": "GCM"}},
            "Context": {"journey": "post-purchase", "message": "m1"},
            "MessageConfiguration": {
                "APNSMessage": {
                    "Title": "Your order",
                    "Body": "It shipped",
                    "Action": "OPEN_APP",
                    "Priority": "high",
                },
                "GCMMessage": {
                    "Title": "Your order",
                    "Body": "It shipped",
                    "Action": "OPEN_APP",
                    "Priority": "high",
                },
            },
        },
    }
    sender = PinpointPushSender(client, "app-1")
    tags = {"journey": "post-purchase", "message": "m1"}
    with Stubber(client) as stub:
        stub.add_response("send_messages", push_response("PERMANENT_FAILURE", "SUCCESSFUL"), expected)
        assert sender.send(to=(APNS, FCM), message=message, tags=tags) == "msg-1"
        stub.add_response("send_messages", push_response("THROTTLED", "PERMANENT_FAILURE"))
        with pytest.raises(SendThrottled):
            sender.send(to=(APNS, FCM), message=message, tags=tags)
        stub.add_response("send_messages", push_response("OPT_OUT", "OPT_OUT"))
        with pytest.raises(RecipientOptedOut):
            sender.send(to=(APNS, FCM), message=message, tags=tags)
        stub.add_response("send_messages", push_response("PERMANENT_FAILURE"))
        with pytest.raises(SendRejected, match="PERMANENT_FAILURE"):
            sender.send(to=(APNS,), message=message, tags=tags)


def test_a_customer_on_push_gets_the_confirmation_as_a_notification(default_library):
    local = default_library
    client = boto3.client("pinpoint", region_name="us-east-1")
    local.function_services["run_step"].senders[Channel.PUSH] = PinpointPushSender(client, "app-1")
    with Stubber(client) as stub:
        stub.add_response("send_messages", push_response("SUCCESSFUL"))
        order_for(local, push_tokens=[APNS.model_dump()], channels=["push"])
        stub.assert_no_pending_responses()
    confirmation = next(m for m in local.messages() if m.step == "order_confirmation")
    assert (confirmation.channel, confirmation.subject) == ("push", "Gracias por tu pedido #1001")


def test_the_sending_rate_is_shared_per_channel_and_second(local):
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    clock = [datetime(2026, 3, 2, 9, 0, 0, 100_000, tzinfo=UTC)]
    limiter = DynamoRateLimiter(table, {Channel.EMAIL: 2}, lambda: clock[0])
    assert [limiter.acquire(Channel.EMAIL) for _ in range(3)] == [True, True, False]
    clock[0] += timedelta(seconds=1)
    assert limiter.acquire(Channel.EMAIL)
    assert all(limiter.acquire(Channel.PUSH) for _ in range(5))  # no limit configured


def test_sends_a_full_second_refused_are_given_the_seconds_to_come_in_turn(local):
    """Seven refused at 3 a second: three in each of the next seconds (a third never rounds into
    a fourth), and those shares are gone for sends that come later; once the backlog has left,
    the queue starts again."""
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    nine = datetime(2026, 3, 2, 9, 0, 0, 100_000, tzinfo=UTC)
    clock = [nine]
    limiter = DynamoRateLimiter(table, {Channel.EMAIL: 3}, lambda: clock[0])
    slots = [limiter.reserve(Channel.EMAIL) for _ in range(7)]
    second = lambda n: nine.replace(microsecond=0) + timedelta(seconds=n)  # noqa: E731
    assert slots == [second(1)] * 3 + [second(2)] * 3 + [second(3)]
    clock[0] = second(1)
    assert not limiter.acquire(Channel.EMAIL)  # all three shares of 09:00:01 are reserved
    clock[0] = second(3)
    assert [limiter.acquire(Channel.EMAIL) for _ in range(3)] == [True, True, False]  # two are left
    clock[0] = second(10)
    assert limiter.reserve(Channel.EMAIL) == second(11)


def test_a_send_over_the_rate_is_held_for_its_turn_and_sent_once(local):
    from tests.integration.conftest import sent_emails

    runner = local.function_services["run_step"].step_runner
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    runner._rate_limiter = DynamoRateLimiter(table, {Channel.EMAIL: 1}, lambda: local.engine.now)
    placed = load_json(EVENTS / "order-placed.json")
    other = load_json(EVENTS / "order-placed.json")
    other["id"], other["detail"]["order_id"] = "evt-other", "A-2002"
    other["detail"]["customer"].update(id="cus-bo", email="bo@example.com")
    local.deliver(placed)
    local.deliver(other)  # same second: the quota of 1 a second is used by Ana's confirmation
    at = local.engine.now
    local.engine.run_until(at)
    assert len(sent_emails()) == 1
    local.engine.run_until(at + timedelta(seconds=2))
    sent = {m.customer_id: m for m in local.messages() if m.status is MessageStatus.SENT}
    assert sorted(sent) == ["cus-ana", "cus-bo"]
    assert len(sent_emails()) == 2  # Bo's waited for the next second's share, and was sent once
    bo = sent["cus-bo"]
    assert bo.held == "sending rate: email in turn"
    assert bo.sent_at == at.replace(microsecond=0) + timedelta(seconds=1)
    (execution,) = [
        e
        for e in local.engine.executions.values()
        if e.input["customer_id"] == "cus-bo" and e.name.startswith("post-purchase")
    ]
    assert execution.path[:3] == ["order_confirmation", "order_confirmation (held)", "order_confirmation"]


def test_promotions_refused_by_a_full_second_go_after_every_confirmation(local):
    """The deployed queue as the backtest's (tests/unit/test_rate.py): promotions are placed
    behind the transactional backlog, later confirmations still go before them, and their place
    is not a kept share."""
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    nine = datetime(2026, 3, 2, 9, 0, 0, 100_000, tzinfo=UTC)
    clock = [nine]
    limiter = DynamoRateLimiter(table, {Channel.EMAIL: 2}, lambda: clock[0])
    second = lambda n: nine.replace(microsecond=0) + timedelta(seconds=n)  # noqa: E731
    assert [limiter.reserve(Channel.EMAIL) for _ in range(3)] == [second(1), second(1), second(2)]
    promotions = [limiter.reserve(Channel.EMAIL, transactional=False) for _ in range(3)]
    assert promotions == [second(2), second(3), second(3)]
    assert limiter.reserve(Channel.EMAIL) == second(2)
    clock[0] = second(3)
    assert [limiter.acquire(Channel.EMAIL) for _ in range(3)] == [True, True, False]
    clock[0] = second(20)  # no backlog: both queues start again at the next second
    assert limiter.reserve(Channel.EMAIL, transactional=False) == second(21)
    assert limiter.reserve(Channel.EMAIL) == second(21)
