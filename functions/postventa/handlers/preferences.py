"""API Gateway HTTP API -> here: the preference centre, one-click unsubscribe and survey answers.

GET never changes anything: a survey score or an unsubscribe needs the page's button (a POST), or
for unsubscribing the mailbox provider's RFC 8058 one-click POST, so the link scanners of mail
gateways, which open every URL in a message, can neither answer a survey nor unsubscribe anyone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from postventa.composition import Services, deployed
from postventa.handlers.http import received_at, serve
from postventa.handlers.observability import logger, metrics
from postventa.logic.links import InvalidLink
from postventa.models.events import Channel
from postventa.models.records import CustomerProfile
from postventa.services.compliance import NotFromShopify
from postventa.services.preferences import PreferenceForm

app = APIGatewayHttpResolver()

# Tokens travel in URLs: never leak them onward, never cache a page, never frame one.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _services() -> Services:
    """This request's services: each built handler hands its own to the routes (append_context)."""
    services: Services = app.context["services"]
    return services


def _page(name: str, profile: CustomerProfile | None, status: int = 200, **context: Any) -> Response:
    current = _services()
    settings = current.settings
    locale = profile.locale if profile else _accepted_language()
    body = current.renderer.page(
        name,
        locale,
        {
            "shop": {"name": settings.shop_name, "support_email": settings.support_email},
            "customer": {"first_name": profile.first_name if profile else None},
            **context,
        },
    )
    return Response(status, "text/html; charset=utf-8", body, headers=SECURITY_HEADERS)


def _accepted_language() -> str | None:
    header = app.current_event.get_header_value("accept-language") or ""
    return header.split(",")[0].split(";")[0].strip() or None


def _form() -> dict[str, list[str]]:
    return parse_qs(app.current_event.decoded_body or "")


def _token() -> str:
    return app.current_event.get_query_string_value("t") or (_form().get("t") or [""])[0]


def _invalid(error: InvalidLink) -> Response:
    metrics.add_metric(name="Link_invalid", unit="Count", value=1)
    return _page("invalid", None, status=400, problem=str(error))


def _preferences_page(profile: CustomerProfile, claims: dict[str, Any], *, saved: bool = False) -> Response:
    return _page("preferences", profile, saved=saved, **_services().preferences.view(profile, claims))


@app.get("/preferences")
def show_preferences() -> Response:
    try:
        profile, claims = _services().preferences.customer(_token(), "preferences")
    except InvalidLink as error:
        return _invalid(error)
    return _preferences_page(profile, claims)


@app.post("/preferences")
def save_preferences() -> Response:
    form = _form()
    choice = PreferenceForm(
        channels=[c for c in form.get("channels", []) if c in set(Channel)],
        topics=form.get("topics", []),
        unsubscribe_all=form.get("unsubscribe_all") == ["true"],
    )
    try:
        profile, claims = _services().preferences.save(_token(), choice, received_at(app))
    except InvalidLink as error:
        return _invalid(error)
    metrics.add_metric(name="Preferences_saved", unit="Count", value=1)
    return _preferences_page(profile, claims, saved=True)


@app.get("/unsubscribe")
def confirm_unsubscribe() -> Response:
    centre = _services().preferences
    try:
        profile, claims = centre.customer(_token(), "unsubscribe")
    except InvalidLink as error:
        return _invalid(error)
    link = centre.page_link(profile, claims)
    return _page("unsubscribe", profile, token=_token(), preferences_token=link, done=False)


@app.post("/unsubscribe")
def unsubscribe() -> Response:
    """The page's button, or the mailbox provider's one-click POST (body List-Unsubscribe=One-Click)."""
    centre = _services().preferences
    try:
        profile, claims = centre.unsubscribe(_token(), received_at(app))
    except InvalidLink as error:
        return _invalid(error)
    metrics.add_metric(name="Unsubscribed", unit="Count", value=1)
    link = centre.page_link(profile, claims)
    return _page("unsubscribe", profile, token=_token(), preferences_token=link, done=True)


@app.get("/nps")
def confirm_survey_answer() -> Response:
    try:
        profile, score, _ = _services().preferences.survey(_token())
    except InvalidLink as error:
        return _invalid(error)
    return _page("survey", profile, score=score, token=_token())


@app.post("/nps")
def answer_survey() -> Response:
    try:
        profile, score = _services().preferences.answer(_token(), received_at(app))
    except InvalidLink as error:
        return _invalid(error)
    metrics.add_metric(name="Survey_answered", unit="Count", value=1)
    return _page("thanks", profile, score=score)


@app.post("/shopify/compliance")
def shopify_compliance() -> Response:
    """Shopify's compliance webhooks (customers/redact, customers/data_request, shop/redact)."""
    webhooks = _services().compliance
    if webhooks is None:
        return Response(404, "text/plain", "no Shopify app is set up for this shop")
    event = app.current_event
    body = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    topic = event.get_header_value("x-shopify-topic") or ""
    try:
        done = webhooks.receive(
            topic, body, event.get_header_value("x-shopify-hmac-sha256") or "", received_at(app)
        )
    except NotFromShopify:
        return Response(401, "text/plain", "unauthorized")
    except ValueError as error:
        return Response(400, "text/plain", str(error))
    logger.info("compliance webhook", extra={"topic": topic, "done": done})  # ids only, never the body
    metrics.add_metric(name="Compliance_webhook", unit="Count", value=1)
    if topic == "shop/redact":  # for the operator: the alarm says to remove the stack's data
        metrics.add_metric(name="ShopRedactRequested", unit="Count", value=1)
    return Response(200, "application/json", json.dumps({"done": done}))


def build(services: Callable[[], Services]) -> Callable[..., dict[str, Any]]:
    return serve(app, services)


lambda_handler = build(deployed)
