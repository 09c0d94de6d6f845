"""API Gateway HTTP API -> here: the app inbox. GET /inbox lists the signed-in customer's cards,
newest first; POST /inbox/read marks cards read (each the open of its message).

The app sends X-Postventa-Customer (the customer's id) and X-Postventa-Signature (the shop's
backend's HMAC of it, services/inbox.py) with each request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel, ValidationError

from postventa.composition import Services, deployed
from postventa.handlers.http import received_at, serve
from postventa.handlers.observability import metrics
from postventa.models.inbound import describe_validation_error
from postventa.models.inbox import CardsAsked, CardsRead
from postventa.services.inbox import AppInbox, NotSignedIn

app = APIGatewayHttpResolver()

# A customer's own messages: never kept by a cache on the way.
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _inbox() -> AppInbox:
    inbox: AppInbox = app.context["services"].inbox
    return inbox


def _signed_in() -> tuple[str, str]:
    event = app.current_event
    return (
        event.get_header_value("x-postventa-customer") or "",
        event.get_header_value("x-postventa-signature") or "",
    )


def _json(status: int, body: BaseModel | dict[str, Any]) -> Response:
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return Response(status, "application/json", text, headers=HEADERS)


def _refused(error: NotSignedIn | ValidationError) -> Response:
    if isinstance(error, NotSignedIn):
        metrics.add_metric(name="Inbox_not_signed_in", unit="Count", value=1)
        return _json(401, {"error": str(error)})
    return _json(400, {"error": describe_validation_error(error)})


@app.get("/inbox")
def list_cards() -> Response:
    try:
        asked = CardsAsked.model_validate(app.current_event.query_string_parameters or {})
        return _json(200, _inbox().cards(*_signed_in(), asked))
    except (NotSignedIn, ValidationError) as error:
        return _refused(error)


@app.post("/inbox/read")
def read_cards() -> Response:
    try:
        read = CardsRead.model_validate_json(app.current_event.decoded_body or "{}")
        done = _inbox().read(*_signed_in(), read, received_at(app))
    except (NotSignedIn, ValidationError) as error:
        return _refused(error)
    metrics.add_metric(name="Inbox_read", unit="Count", value=len(done.read))
    return _json(200, done)


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    return serve(app, services)


lambda_handler = build(deployed)
