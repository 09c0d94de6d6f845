"""Consent back to the storefront: a choice stated to Postventa reaches the Shopify customer's
marketing consent through write_consent (Consent Changed -> queue -> Admin GraphQL API), and the
Admin API adapter against a local HTTP server standing in for Shopify."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from postventa.adapters.shopify_admin import ShopifyAdmin
from postventa.local.simulate import LocalPostventa
from postventa.local.web import http_api_event
from postventa.services.errors import SendThrottled, StepRetryable
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0

SHOPIFY_ID = "207119551"  # shopify.dev's example customer


@pytest.fixture
def local():
    with LocalPostventa(start=T0) as running:
        placed = load_json(EVENTS / "order-placed.json")
        placed["detail"]["customer"].update(
            id=SHOPIFY_ID, phone="612 34 56 78", sms_marketing="subscribed", sms_transactional="subscribed"
        )
        running.deliver(placed)
        running.engine.run_until(running.engine.now)
        running.consent_said()  # nothing stated yet; the order's consent came from Shopify itself
        yield running


def _unsubscribe(local) -> None:
    """The one-click POST of a marketing email's unsubscribe link."""
    link = local.services.links.link("unsubscribe", c=SHOPIFY_ID, m="m1")
    query = link.split("?", 1)[1]
    local.http(http_api_event("POST", f"/unsubscribe?{query}", {}, b"List-Unsubscribe=One-Click"))


def test_an_unsubscribe_in_postventa_unsubscribes_the_shopify_customer_as_of_the_click(local):
    _unsubscribe(local)
    assert local.write_back_consent() == [{"batchItemFailures": []}]
    (request,) = local.shopify_admin.requests
    stated = local.services.store.get_profile(SHOPIFY_ID).consent_at["email_marketing"]
    assert request["variables"]["email"] == {
        "customerId": f"gid://shopify/Customer/{SHOPIFY_ID}",
        "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED",
            "consentUpdatedAt": stated.isoformat().replace("+00:00", "Z"),
        },
    }
    assert list(request["variables"]) == ["email"]  # the link is about email alone


def test_a_stop_reply_unsubscribes_the_shopify_customers_marketing_texts(local):
    stop = load_json(EVENTS / "sms" / "inbound-stop.json")
    local.receive(stop)
    local.write_back_consent()
    (request,) = local.shopify_admin.requests
    assert list(request["variables"]) == ["sms"]
    assert request["variables"]["sms"]["smsMarketingConsent"] == {
        "marketingState": "UNSUBSCRIBED",
        "consentUpdatedAt": local.engine.now.isoformat().replace("+00:00", "Z"),
    }


def test_what_shopify_refuses_waits_in_the_dead_letter_queue_with_its_words(local):
    local.shopify_admin.post = lambda request: {
        "data": {
            "email": {
                "userErrors": [{"field": ["input", "customerId"], "message": "Customer does not exist"}]
            }
        }
    }
    _unsubscribe(local)
    assert local.write_back_consent() == [{"batchItemFailures": []}]
    (kept,) = local.dead_letters()
    assert json.loads(kept["Body"])["detail-type"] == "Consent Changed"
    reason = kept["MessageAttributes"]["reason"]["StringValue"]
    assert (
        reason
        == "cannot be applied (receive 1): ConsentRefused: Shopify refused: input.customerId: Customer does not exist"
    )


def test_a_throttled_write_is_delivered_again_until_shopify_takes_it(local):
    answers = [{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}] * 2
    taken = local.shopify_admin.post
    local.shopify_admin.post = lambda request: answers.pop() if answers else taken(request)
    _unsubscribe(local)
    assert local.write_back_consent() == [{"batchItemFailures": []}]
    assert len(local.shopify_admin.requests) == 1 and local.dead_letters() == []


class _Shopify(BaseHTTPRequestHandler):
    status, answer, seen = 200, {"data": {"email": {"userErrors": []}}}, []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Shopify.seen.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(_Shopify.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(_Shopify.answer).encode())

    def log_message(self, *_) -> None:
        pass


@pytest.fixture
def shopify():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shopify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Shopify.status, _Shopify.seen = 200, []
    yield f"http://127.0.0.1:{server.server_port}/admin/api/2026-10/graphql.json"
    server.shutdown()


def test_the_admin_api_gets_the_token_in_its_header_and_the_request_as_json(shopify):
    admin = ShopifyAdmin(shopify, lambda: "shpat_secret")
    assert admin.post({"query": "mutation", "variables": {}}) == _Shopify.answer
    ((path, headers, body),) = _Shopify.seen
    assert path == "/admin/api/2026-10/graphql.json"
    assert (headers["X-Shopify-Access-Token"], headers["Content-Type"]) == (
        "shpat_secret",
        "application/json",
    )
    assert body == {"query": "mutation", "variables": {}}


@pytest.mark.parametrize(
    ("status", "raised"), [(429, SendThrottled), (503, StepRetryable), (401, PermissionError)]
)
def test_shopifys_refusals_are_told_apart(shopify, status, raised):
    _Shopify.status = status
    with pytest.raises(raised):
        ShopifyAdmin(shopify, lambda: "t").post({})


def test_a_shopify_that_does_not_answer_is_tried_again():
    with pytest.raises(StepRetryable, match="Shopify did not answer"):
        ShopifyAdmin("http://127.0.0.1:9/graphql.json", lambda: "t").post({})


def test_a_historys_mailbox_unsubscribe_posts_the_latest_emails_one_click_link_at_its_time(local):
    """Simulate's customer action: the mailbox provider's RFC 8058 POST, received at the action's
    time on the virtual clock; an address never sent a link gets nothing, an unknown action is refused."""
    action = {
        "source": "postventa.simulate",
        "detail-type": "Mailbox Unsubscribe",
        "time": "2026-03-02T09:30:00Z",
        "detail": {"email": "nobody@example.com"},
    }
    assert local.receive(action)["statusCode"] == 404
    local.mailboxes.unsubscribe_urls["ana@example.com"] = local.services.links.link(
        "unsubscribe", c=SHOPIFY_ID, m="m1"
    )
    local.engine.run_until(T0 + timedelta(hours=2))
    assert local.receive({**action, "detail": {"email": "Ana@Example.com"}})["statusCode"] == 200
    profile = local.services.store.get_profile(SHOPIFY_ID)
    assert profile.email_marketing == "unsubscribed" and profile.consent_at[
        "email_marketing"
    ] == T0 + timedelta(hours=2)
    with pytest.raises(ValueError, match="no action 'Link Clicked'"):
        local.receive({**action, "detail-type": "Link Clicked"})
