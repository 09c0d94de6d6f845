"""Call steps end to end against moto: the detractor journey's ticket posted through the local
stand-in of its rule and API destination to a real HTTP receiver on this machine, once, with the
customer's context; the help desk's answer coming back as an event."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from postventa.journeys.library import Library
from postventa.journeys.loader import parse_journey
from postventa.local.simulate import LocalPostventa, posted_to
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import sent_emails

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "Bearer test-helpdesk-key"


@pytest.fixture
def receiver():
    """A help desk's endpoint: keeps each request's headers and JSON body."""
    received: list[tuple[dict[str, str], dict]] = []

    class Tickets(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tickets)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/v2/tickets", received
    server.shutdown()


def answered(score: int) -> dict:
    return {
        "version": "0",
        "id": "evt-answer",
        "detail-type": "Survey Answered",
        "source": "com.shop.example.storefront",
        "account": "123456789012",
        "time": "2026-03-02T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "schema_version": "1",
            "customer_id": "cus-ana",
            "score": score,
            "answered_at": "2026-03-02T10:00:00Z",
        },
    }


def detractor_journey():
    return {"nps-detractor": Library().journeys()["nps-detractor"]}


def test_a_detractor_gets_a_ticket_posted_once_with_their_context(receiver):
    endpoint, received = receiver
    destinations = {"helpdesk": posted_to(endpoint, {"Authorization": KEY})}
    with LocalPostventa(detractor_journey(), start=T0, destinations=destinations) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.deliver(answered(3))
        local.deliver(answered(3))  # EventBridge delivers at least once: the same event again
        local.engine.run_until(T0 + timedelta(days=1))
        (decision,) = [d for d in local.services.store.decisions_of("cus-ana") if d.step == "open_ticket"]
        subjects = [m.subject for m in sent_emails()]

    assert (decision.outcome, decision.reason) == ("called", "to helpdesk")
    assert subjects == ["Hemos leído tu respuesta, Ana"]  # the service follow-up, then the ticket
    ((headers, body),) = received
    assert headers["Authorization"] == KEY and headers["Content-Type"] == "application/json"
    assert {key: body[key] for key in ("destination", "journey", "step", "schema_version")} == {
        "destination": "helpdesk",
        "journey": "nps-detractor",
        "step": "open_ticket",
        "schema_version": "1",
    }
    assert body["customer"] == {
        "id": "cus-ana",
        "email": "ana@example.com",
        "phone": None,
        "first_name": "Ana",
        "last_name": "García",
        "locale": "es-ES",
        "country": "ES",
    }
    assert body["nps"] == {"score": 3, "band": "detractor"}
    assert len(body["call_id"]) == 32 and body["requested_at"].startswith("2026-03-02T10:00")


def test_the_help_desk_answer_opens_a_case_so_marketing_waits():
    """The stand-in help desk answers as a help desk's integration would: Support Case Opened."""
    with LocalPostventa(detractor_journey(), start=T0) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.deliver(answered(2))
        local.engine.run_until(T0 + timedelta(hours=2))
        profile = local.services.store.get_profile("cus-ana")
        tickets = local.help_desk.tickets
    assert profile.open_cases == ["T-1"]
    ((call_id, ticket),) = tickets.items()
    assert ticket["call_id"] == call_id and ticket["customer"]["id"] == "cus-ana"


def test_a_destination_not_configured_is_recorded_not_called_and_the_journey_goes_on():
    journey = parse_journey(
        "name: ask-loyalty\nversion: 1\ntrigger: {event: Order Placed}\nsteps:\n"
        "  - {id: grant_points, call: {destination: loyalty}}\n"
        "  - {id: thanks, send: {channel: email, template: order_confirmation, purpose: transactional}}\n",
        "ask-loyalty.yaml",
    )
    with LocalPostventa({"ask-loyalty": journey}, start=T0) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))
        local.engine.run_until(T0 + timedelta(hours=1))
        (decision,) = local.services.store.decisions_of("cus-ana")
        assert local.undelivered_calls == []  # nothing put on the bus: no personal data for no one
        assert len(sent_emails()) == 1
    assert (decision.outcome, decision.reason) == (
        "not_called",
        "no destination 'loyalty' is configured (context httpDestinations)",
    )
