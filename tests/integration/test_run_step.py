"""run_step against moto: what is sent, to whom, and that nothing is ever sent twice."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from postventa.adapters.email import SesEmailSender
from postventa.journeys.tasks import WaitRequest, WaitResult
from postventa.local.simulate import LocalPostventa, _FakeLambdaContext
from postventa.logic.render import RenderedMessage
from postventa.models.events import Channel
from postventa.models.records import MessageStatus
from postventa.services.errors import SendThrottled
from postventa.services.waits import WaitRegistrar
from tests.conftest import EVENTS, load_json, phase1_journeys
from tests.integration.conftest import T0, sent_emails


def step_payload(local, step: str) -> dict:
    (execution,) = local.engine.executions.values()
    return {
        "execution_id": execution.arn,
        "step": step,
        "now": "2026-03-02T09:15:00.000Z",
        "journey": "post-purchase",
        "version": 1,
        "customer_id": "cus-ana",
        "order_id": "A-1001",
        "action": {
            "kind": "send",
            "channel": "email",
            "template": "order_confirmation",
            "purpose": "transactional",
        },
    }


def test_a_retried_step_sends_once_and_answers_the_same(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)  # the confirmation went out
    payload = step_payload(local, "order_confirmation")
    again = local.lambdas["run_step"](payload, _FakeLambdaContext("run-step"))
    assert again["status"] == "sent"
    assert len(sent_emails()) == 1


def test_the_message_log_survives_a_lost_idempotency_record(local):
    """Even if Powertools' record is gone (expired, deleted), the message log's claim stops a resend."""
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)
    table = boto3.resource("dynamodb").Table(local.settings.idempotency_table_name)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"id": item["id"]})
    outcome = local.lambdas["run_step"](
        step_payload(local, "order_confirmation"), _FakeLambdaContext("run-step")
    )
    assert outcome["status"] == "sent"
    assert len(sent_emails()) == 1


def test_an_unsubscribed_customer_gets_transactional_email_only(local):
    placed = load_json(EVENTS / "order-placed.json")
    placed["detail"]["customer"]["email_marketing"] = "unsubscribed"
    local.deliver(placed)
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()
    outcomes = [(m.step, m.status, m.reason) for m in local.messages()]
    assert outcomes == [
        ("order_confirmation", MessageStatus.SENT, None),
        ("product_tips", MessageStatus.SUPPRESSED, "email: unsubscribed from marketing email"),
        ("review_request", MessageStatus.SUPPRESSED, "email: unsubscribed from marketing email"),
        ("nps_survey", MessageStatus.SUPPRESSED, "email: unsubscribed from marketing email"),
    ]
    assert [m.subject for m in sent_emails()] == ["Gracias por tu pedido #1001, Ana"]


def test_an_unsubscribe_arriving_mid_journey_is_honoured(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.deliver(
        load_json(EVENTS / "customer-updated.json")
    )  # 2026-03-10: after tips, before the review request
    local.engine.run_until_idle()
    assert [(m.step, m.status) for m in local.messages()] == [
        ("order_confirmation", MessageStatus.SENT),
        ("product_tips", MessageStatus.SENT),
        ("review_request", MessageStatus.SUPPRESSED),
        ("nps_survey", MessageStatus.SUPPRESSED),
    ]


class ThrottledOnce:
    def __init__(self, real: SesEmailSender):
        self.real, self.calls = real, 0

    def send(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise SendThrottled("SES throttled the send (TooManyRequestsException)")
        return self.real.send(**kwargs)


def test_a_throttled_send_is_retried_with_backoff_and_sent_once(local):
    runner = local.function_services["run_step"].step_runner
    flaky = ThrottledOnce(runner._senders[Channel.EMAIL])
    runner._senders[Channel.EMAIL] = flaky
    local.deliver(load_json(EVENTS / "order-placed.json"))
    throttled_at = local.engine.now
    # The journey's first SendThrottled retry waits up to 5 s (full jitter: anywhere in [0, 5 s]).
    local.engine.run_until(throttled_at + timedelta(seconds=5))
    assert flaky.calls == 2
    assert len(sent_emails()) == 1
    (message,) = local.messages()
    assert message.status is MessageStatus.SENT
    assert message.at == throttled_at  # the step's EnteredTime, which Step Functions keeps across retries
    assert message.sent_at is not None and throttled_at < message.sent_at <= throttled_at + timedelta(
        seconds=5
    )
    (execution,) = local.engine.executions.values()
    assert execution.current == "await_fulfilment"


def ses_request(message: RenderedMessage, tags: list[dict[str, str]], **extra) -> dict:
    """SendEmail's parameters as SES v2 expects them for one rendered message."""
    part = lambda text: {"Data": text, "Charset": "UTF-8"}  # noqa: E731
    simple = {
        "Subject": part(message.subject),
        "Body": {"Html": part(message.html), "Text": part(message.text)},
        **extra,
    }
    return {
        "FromEmailAddress": "Shop <orders@shop.example>",
        "Destination": {"ToAddresses": ["ana@example.com"]},
        "Content": {"Simple": simple},
        "ConfigurationSetName": "postventa",
        "EmailTags": tags,
    }


def test_the_email_request_carries_the_configuration_set_and_tags():
    client = boto3.client("sesv2", region_name="us-east-1")
    email = RenderedMessage(subject="Hi", html="<p>Hi</p>", text="Hi")
    with Stubber(client) as stub:
        tags = [
            {"Name": "journey", "Value": "post-purchase"},
            {"Name": "customer", "Value": "b32-M52WK43UFVQUAYQ"},
        ]
        stub.add_response("send_email", {"MessageId": "ses-1"}, ses_request(email, tags))
        sender = SesEmailSender(client, "Shop <orders@shop.example>", "postventa")
        assert (
            sender.send(
                to="ana@example.com",
                message=email,
                tags={"journey": "post-purchase", "customer": "guest-a@b"},
            )
            == "ses-1"
        )
        stub.add_client_error(
            "send_email", service_error_code="TooManyRequestsException", http_status_code=429
        )
        with pytest.raises(SendThrottled):
            sender.send(to="ana@example.com", message=email, tags={})


def _registrar(local, resumed: list[str]) -> WaitRegistrar:
    """register_wait's work, each task token it resumes kept in `resumed`."""

    class Workflows:
        def resume(self, token, output):
            resumed.append(token)
            return True

    return WaitRegistrar(store=local.services.store, workflows=Workflows())


def test_a_wait_registered_after_its_event_resumes_at_once(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    resumed: list[str] = []
    registrar = _registrar(local, resumed)
    request = WaitRequest(
        **step_payload(local, "await_fulfilment"), task_token="late-token", event="Order Fulfilled"
    )
    assert registrar.register(request) == WaitResult(waiting=False)
    assert resumed == ["late-token"]
    assert local.services.store.waits_for("cus-ana", "A-1001", "Order Fulfilled") == []


@pytest.mark.parametrize(("refused", "waiting"), [(True, False), (False, True)])
def test_a_wait_for_message_undelivered_registered_after_the_refusal_resumes_at_once(local, refused, waiting):
    """A carrier can answer in seconds: before the journey parks on Message Undelivered."""
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)
    (message,) = local.messages()
    if refused:
        local.services.store.save_message(message.model_copy(update={"status": MessageStatus.FAILED}))
    resumed: list[str] = []
    registrar = _registrar(local, resumed)
    request = WaitRequest(
        **step_payload(local, "await_refusal"), task_token="token", event="Message Undelivered"
    )
    assert registrar.register(request) == WaitResult(waiting=waiting)
    assert resumed == ([] if waiting else ["token"])


def test_marketing_email_carries_rfc8058_one_click_unsubscribe_headers():
    client = boto3.client("sesv2", region_name="us-east-1")
    message = RenderedMessage(
        subject="Tips", html="<p>Tips</p>", text="Tips", marketing=True, unsubscribe_url="https://x/u?t=abc"
    )
    headers = [
        {"Name": "List-Unsubscribe", "Value": "<https://x/u?t=abc>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]
    with Stubber(client) as stub:
        stub.add_response("send_email", {"MessageId": "ses-1"}, ses_request(message, [], Headers=headers))
        SesEmailSender(client, "Shop <orders@shop.example>", "postventa").send(
            to="ana@example.com", message=message, tags={}
        )
        stub.assert_no_pending_responses()


def test_messages_expire_after_the_retention_period(local):
    """DynamoDB's TTL deletes messages (and decisions, answers) this long after they were recorded."""
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)
    table = boto3.resource("dynamodb").Table(local.settings.table_name)
    (item,) = [i for i in table.scan()["Items"] if str(i["sk"]).startswith("MESSAGE#")]
    (message,) = local.messages()
    assert int(item["expires_at"]) == int((message.at + timedelta(days=730)).timestamp())


def test_the_review_button_leads_to_the_shops_destination_with_its_campaign_tags(monkeypatch):
    monkeypatch.setenv(
        "POSTVENTA_CAMPAIGN_LINKS", '{"review_url": "https://shop.example/products/{product_id}#reviews"}'
    )
    with LocalPostventa(phase1_journeys(), start=T0) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.deliver(load_json(EVENTS / "order-fulfilled.json"))
        local.engine.run_until_idle()
        (review,) = [m for m in sent_emails() if m.subject.startswith("¿Qué tal")]
    hrefs = [html.unescape(link) for link in re.findall(r'href="([^"]+)"', review.body)]
    tags = "utm_source=postventa&utm_medium=email&utm_campaign=post-purchase&utm_content=review_request"
    assert f"https://shop.example/products/shoe-tr-42?{tags}#reviews" in hrefs
    # the preference centre's signed links are not the shop's pages: they stay as signed
    assert [h for h in hrefs if "/unsubscribe?" in h or "/preferences?" in h]
    assert not [h for h in hrefs if "utm_" in h and ("/unsubscribe?" in h or "/preferences?" in h)]


@pytest.mark.parametrize(("subscription", "waiting"), [("sub-kai-1", False), ("sub-kai-2", True)])
def test_a_wait_for_a_shops_event_registered_after_it_arrived_resumes_at_once(subscription, waiting):
    """A held or retried send can park the journey after the event it waits for arrived: on_order
    noted it (DynamoDB, in moto), so the wait resumes at once, for the same subscription only."""
    from postventa.journeys.library import Library
    from postventa.local.simulate import LocalPostventa
    from postventa.models.inbound import parse_inbound

    library = Library()
    failed = load_json(EVENTS / "custom" / "subscription-payment-failed.json")
    renewed = load_json(EVENTS / "custom" / "subscription-renewed.json")
    renewed["detail"] = {**renewed["detail"], "subscription_id": subscription}
    journeys = {"failed-payment": library.journeys()["failed-payment"]}
    with LocalPostventa(journeys, start=T0, library=library) as local:
        local.deliver(renewed)  # before the failure's journey reached its wait
        trigger = parse_inbound(failed, library.contract).detail.model_dump(mode="json", exclude={"customer"})
        resumed: list[str] = []
        request = WaitRequest(
            execution_id="arn:execution:late",
            step="renewed",
            now=datetime.fromisoformat(renewed["time"]),
            journey="failed-payment",
            version=1,
            customer_id="cus-kai",
            task_token="late-token",
            event="Subscription Renewed",
            same_order=False,
            same=["subscription_id"],
            trigger={**trigger, "occurred_at": "2026-03-10T06:05:00Z"},
        )
        assert _registrar(local, resumed).register(request) == WaitResult(waiting=waiting)
        assert resumed == ([] if waiting else ["late-token"])
