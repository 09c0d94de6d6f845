"""postventa send-test through the providers (SES and SNS in moto, Pinpoint stubbed: moto lacks
SendMessages), and the journeys' seed copies through run_step."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from postventa.adapters.push import PinpointPushSender
from postventa.cli import main
from postventa.journeys.library import Library
from postventa.local.preview import PreviewCustomer
from postventa.local.send_test import send_test
from postventa.local.simulate import LocalPostventa
from postventa.models.engagement import SesRecord
from postventa.models.events import Channel
from postventa.services.engagement import EngagementService
from tests.conftest import EVENTS, load_json, phase1_journeys
from tests.integration.conftest import T0, sent_emails, sent_sms

SENDER = "Postventa Demo Shop <orders@shop.example>"


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        boto3.client("sesv2").create_email_identity(EmailIdentity="shop.example")
        yield


def test_a_test_email_is_the_steps_message_marked_and_sent_with_the_stacks_configuration(aws, capsys):
    args = ["send-test", "post-purchase", "review_request", "--to", "me@shop.example", "--sender", SENDER]
    assert main([*args, "--customer", str(EVENTS / "preview-customer.json")]) == 0
    (sent,) = sent_emails()
    assert sent.destinations["ToAddresses"] == ["me@shop.example"]
    assert sent.subject == "[TEST] ¿Qué tal tu Cafetera de goteo, Lucía?"  # the file's customer, es-MX
    assert "sent email to me@shop.example: [TEST]" in capsys.readouterr().out


def test_a_test_text_goes_by_sns_and_a_wrong_recipient_or_step_is_refused(aws, capsys):
    assert main(["send-test", "cross-sell", "cross_sell", "--channel", "sms", "--to", "+14155550100"]) == 0
    ((number, text),) = sent_sms()
    assert number == "+14155550100" and text.startswith("[TEST] Postventa Demo Shop: Alex, ")
    assert main(["send-test", "cross-sell", "cross_sell", "--channel", "sms", "--to", "555-0100"]) == 1
    assert "not a phone number in international form" in capsys.readouterr().err
    assert main(["send-test", "cross-sell", "wait_a_bit", "--to", "me@shop.example", "--sender", SENDER]) == 1
    assert "cross-sell has no send step wait_a_bit: cross_sell" in capsys.readouterr().err
    assert len(sent_sms()) == 1


def test_a_test_push_goes_to_the_token_given_tagged_as_a_copy():
    client = boto3.client("pinpoint", region_name="us-east-1")
    customer = PreviewCustomer.model_validate(load_json(EVENTS / "preview-customer.json"))
    with Stubber(client) as stub:
        stub.add_response(
            "send_messages",
            {
                "MessageResponse": {
                    "ApplicationId": "app-1",
                    "Result": {
                        "device-token-1": {
                            "DeliveryStatus": "SUCCESSFUL",
                            "StatusCode": 200,
                            "MessageId": "p-1",
                        }
                    },
                }
            },
            {
                "ApplicationId": "app-1",
                "MessageRequest": {
                    "Addresses": {"device-token-1": {"ChannelType": "APNS"}},
                    "Context": {"journey": "post-purchase", "step": "order_confirmation", "copy": "test"},
                    "MessageConfiguration": ANY,
                },
            },
        )
        message, provider_id = send_test(
            Library(),
            "post-purchase",
            "order_confirmation",
            to="apns:device-token-1",
            channel=Channel.PUSH,
            locale=None,
            customer=customer,
            sender=PinpointPushSender(client, "app-1"),
        )
    assert provider_id == "p-1" and message.title.startswith("[TEST] ")


def test_engagement_of_a_copy_is_ignored_not_recorded():
    event = load_json(EVENTS / "ses" / "email-click.json")
    event["detail"]["mail"]["tags"] = {"copy": ["test"], "journey": ["post-purchase"]}
    record = SesRecord.model_validate(event["detail"])
    assert EngagementService(store=None, workflows=None, publish_consent=None).apply(record) == {  # type: ignore[arg-type]
        "ignored": "a test copy, no customer's message"
    }


def test_seeds_get_a_copy_of_each_steps_first_send_of_the_day_for_no_one_in_particular():
    journeys = phase1_journeys()
    journeys["post-purchase"] = journeys["post-purchase"].model_copy(
        update={"seeds": ["qa@shop.example", "+14155550199"]}
    )
    with LocalPostventa(journeys, start=T0) as local:
        placed = load_json(EVENTS / "order-placed.json")
        local.deliver(placed)
        second = load_json(EVENTS / "order-placed.json")
        second["id"], second["detail"]["order_id"] = "evt-second", "A-1002"
        second["detail"]["customer"].update(id="cus-ben", email="ben@example.com", first_name="Ben")
        local.deliver(second)  # the same day: no second copy
        third = load_json(EVENTS / "order-placed.json")
        third["id"], third["detail"]["order_id"] = "evt-third", "A-1003"
        third["time"] = (T0 + timedelta(days=1)).isoformat().replace("+00:00", "Z")
        third["detail"]["customer"].update(id="cus-cy", email="cy@example.com", first_name="Cy")
        local.deliver(third)  # the next day: a copy again
        local.engine.run_until(T0 + timedelta(days=1, hours=1))
        emails = sent_emails()
        seeds = [m for m in emails if m.destinations["ToAddresses"] == ["qa@shop.example"]]
        customers = [m for m in emails if m.destinations["ToAddresses"] != ["qa@shop.example"]]
        assert len(customers) == 3 and len(seeds) == 2
        assert all(m.subject.startswith("[SEED] ") for m in seeds)
        assert not any(name in m.body for m in seeds for name in ("Ana", "Ben", "Cy"))
        assert [m.step for m in local.messages()] == ["order_confirmation"] * 3  # no seed in the log
        assert sent_sms() == []  # an SMS seed only gets copies of text messages
