"""The preference centre through its Lambda (API Gateway HTTP API events) against moto: signed
links, what each page changes, one-click unsubscribe, survey answers, and tampered links."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from postventa.local.simulate import LocalPostventa
from postventa.local.web import http_api_event
from postventa.models.events import Channel, ConsentState
from postventa.models.records import MessageStatus
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_emails


def request(local, method: str, link: str, body: str = "") -> dict:
    url = urlsplit(link)
    event = http_api_event(method, f"{url.path.removeprefix('/postventa')}?{url.query}", {}, body.encode())
    return local.http(event)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


@pytest.fixture
def local():
    """The default journey library: its topics are what the page offers."""
    with LocalPostventa(start=T0) as running:
        yield running


@pytest.fixture
def ana(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.engine.run_until(local.engine.now)
    return local.services.store.get_profile("cus-ana")


def test_one_click_unsubscribe_stops_marketing_email_and_only_that(local, ana):
    (confirmation,) = local.messages()
    link = local.services.links.link("unsubscribe", c="cus-ana", m=confirmation.message_id)
    response = request(local, "POST", link, "List-Unsubscribe=One-Click")
    assert response["statusCode"] == 200 and 'id="done"' in response["body"]
    assert local.services.store.get_profile("cus-ana").email_marketing is ConsentState.UNSUBSCRIBED
    assert local.messages()[0].unsubscribed_at is not None  # counted against the message it came from
    # said on the bus for the storefront: the whole consent, and when each part was stated
    (said,) = local.consent_said()
    assert (said["source"], said["detail-type"]) == ("postventa.consent", "Consent Changed")
    detail = said["detail"]
    assert (detail["stated_by"], detail["email_marketing"], detail["sms_marketing"]) == (
        "unsubscribe_link",
        "unsubscribed",
        ana.sms_marketing.value,
    )
    assert detail["consent_at"]["email_marketing"] == detail["stated_at"]
    # the same click again (a retry, a second click): said again, the same state
    request(local, "POST", link, "List-Unsubscribe=One-Click")
    (again,) = local.consent_said()
    assert again["detail"]["email_marketing"] == "unsubscribed"
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()
    outcomes = {m.step: (m.status, m.reason) for m in local.messages()}
    assert outcomes["order_confirmation"][0] is MessageStatus.SENT
    assert outcomes["product_tips"] == (MessageStatus.SUPPRESSED, "email: unsubscribed from marketing email")


def test_opening_the_unsubscribe_link_changes_nothing_until_the_button(local, ana):
    link = local.services.links.link("unsubscribe", c="cus-ana", m="m1")
    page = request(local, "GET", link)
    assert page["statusCode"] == 200 and "Darme de baja" in page["body"]  # Ana reads Spanish
    assert local.services.store.get_profile("cus-ana").email_marketing is ConsentState.SUBSCRIBED


@pytest.mark.parametrize("tamper", ["altered", "forged", "expired", "wrong action", "missing"])
def test_a_bad_link_gets_a_clear_page_and_changes_nothing(local, ana, tamper, monkeypatch):
    from postventa.logic.links import LinkSigner

    links = local.services.links
    if tamper == "altered":
        token = token_of(links.link("unsubscribe", c="cus-ana"))
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif tamper == "forged":
        token = LinkSigner("not-the-secret", "https://x").token("unsubscribe", c="cus-ana")
    elif tamper == "expired":
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() - 91 * 86400)
        token = links.token("unsubscribe", c="cus-ana")
        monkeypatch.setattr(time, "time", real)
    elif tamper == "wrong action":
        token = links.token("preferences", c="cus-ana")  # a preferences token cannot unsubscribe
    else:
        token = ""
    response = request(local, "POST", f"https://shop.example/postventa/unsubscribe?t={token}")
    assert response["statusCode"] == 400
    assert 'id="invalid"' in response["body"] and "Nothing was changed" in response["body"]
    assert local.services.store.get_profile("cus-ana") == ana
    if tamper == "expired":
        assert "It has expired." in response["body"]


def test_the_preference_page_saves_channels_topics_and_consent(local, ana):
    store = local.services.store
    assert store.save_profile(ana.model_copy(update={"phone": "+34612345678"}), ana)
    link = local.services.links.link("preferences", c="cus-ana")
    page = request(local, "GET", link)
    assert page["statusCode"] == 200 and 'name="channels" value="sms"' in page["body"]
    body = f"t={token_of(link)}&channels=sms&channels=email&topics=offers&topics=tips"
    saved = request(local, "POST", "https://shop.example/postventa/preferences", body)
    assert saved["statusCode"] == 200 and 'id="saved"' in saved["body"]
    profile = store.get_profile("cus-ana")
    assert profile.channels == [Channel.SMS, Channel.EMAIL]
    assert (profile.sms_marketing, profile.sms_transactional) == (ConsentState.SUBSCRIBED,) * 2
    assert profile.email_marketing is ConsentState.SUBSCRIBED
    assert profile.push_marketing is ConsentState.NOT_SUBSCRIBED  # no app: not offered, not changed
    assert local.function_services["preferences"].preferences.topics == [
        "news",
        "offers",
        "reviews",
        "surveys",
        "tips",
    ]
    assert profile.topics_unsubscribed == ["news", "reviews", "surveys"]
    assert saved["headers"]["Referrer-Policy"] == "no-referrer"
    (said,) = local.consent_said()  # opening the page said nothing; saving it, what is now held
    assert said["detail"] == {
        "schema_version": "1",
        "customer_id": "cus-ana",
        "stated_by": "preference_centre",
        "stated_at": profile.model_dump(mode="json")["consent_at"]["email_marketing"],
        "email_marketing": "subscribed",
        "sms_marketing": "subscribed",
        "sms_transactional": "subscribed",
        "push_marketing": "not_subscribed",
        "sms_opted_out": False,
        "channels": ["sms", "email"],
        "topics_unsubscribed": ["news", "reviews", "surveys"],
        "consent_at": profile.model_dump(mode="json")["consent_at"],
    }


def test_unsubscribe_all_from_the_page_withdraws_every_marketing_consent(local, ana):
    link = local.services.links.link("preferences", c="cus-ana")
    request(
        local,
        "POST",
        "https://shop.example/postventa/preferences",
        f"t={token_of(link)}&unsubscribe_all=true",
    )
    profile = local.services.store.get_profile("cus-ana")
    assert profile.channels == [] and profile.email_marketing is ConsentState.UNSUBSCRIBED


def test_a_survey_link_shows_the_score_and_its_button_records_it(local, ana):
    link = local.services.links.link("nps", c="cus-ana", m="m-survey", s=3)
    opened = request(local, "GET", link)
    assert opened["statusCode"] == 200 and "Has elegido <strong>3</strong>" in opened["body"]
    local.relay_bus()
    assert local.services.store.latest_nps("cus-ana") is None  # opening the link answers nothing
    response = request(local, "POST", link)
    assert response["statusCode"] == 200 and "Nos has puesto un 3" in response["body"]
    local.relay_bus()  # Survey Answered went to the bus, and comes back through on_order
    answer = local.services.store.latest_nps("cus-ana")
    assert (answer.score, answer.message_id) == (3, "m-survey")


def test_one_answer_per_survey_the_latest_wins_and_its_follow_up_starts_once(local, ana):
    for score in (2, 3, 9):
        request(local, "POST", local.services.links.link("nps", c="cus-ana", m="m-survey", s=score))
        local.relay_bus()
    store = local.services.store
    assert [(a.score, a.message_id) for a in store.answers_of("cus-ana")] == [(9, "m-survey")]
    entered = sorted(e.journey for e in store.entries_of("cus-ana") if e.journey.startswith("nps-"))
    assert entered == ["nps-detractor", "nps-promoter"]  # once each for this survey, not per click


def test_an_unsubscribe_landing_between_an_orders_read_and_write_is_kept(local, ana, monkeypatch):
    """on_order reads the profile, the customer unsubscribes, on_order writes: the write checks the
    version it read, so it redoes its change over the unsubscribe instead of writing over it."""
    (confirmation,) = local.messages()
    link = local.services.links.link("unsubscribe", c="cus-ana", m=confirmation.message_id)
    store = local.function_services["on_order"].store  # what on_order reads and writes through
    read_profile, raced = store.get_profile, []

    def read_then_unsubscribe(customer_id):
        profile = read_profile(customer_id)
        if not raced:
            raced.append(customer_id)
            assert request(local, "POST", link, "List-Unsubscribe=One-Click")["statusCode"] == 200
        return profile

    monkeypatch.setattr(store, "get_profile", read_then_unsubscribe)
    second = load_json(EVENTS / "order-placed.json")
    second["id"], second["detail"]["order_id"] = "evt-second-order", "A-1002"
    local.deliver(second)
    monkeypatch.undo()

    profile = store.get_profile("cus-ana")
    assert raced and (profile.email_marketing, profile.orders_count) == (ConsentState.UNSUBSCRIBED, 2)


def test_a_mail_scanner_opening_every_link_of_every_message_twice_changes_nothing(local, ana):
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()  # every step sent: confirmation, tips, review request, survey...
    base = local.settings.links_base_url
    links = sorted(
        {html.unescape(link) for m in sent_emails() for link in re.findall(r'href="([^"]+)"', m.body)}
    )
    ours = [link for link in links if link.startswith(base)]
    assert len(ours) >= 14  # eleven score links, unsubscribe, preferences, review among them
    store = local.services.store

    def state() -> tuple:
        return (
            store.get_profile("cus-ana"),
            store.answers_of("cus-ana"),
            sorted(e.execution_name for e in store.entries_of("cus-ana")),
            [m.model_dump() for m in local.messages()],
            len(local.engine.executions),
            len(sent_emails()),
        )

    before = state()
    for link in ours * 2:  # a gateway opens each, and another layer opens it again
        assert request(local, "GET", link)["statusCode"] in (200, 404)  # /review: no page yet
    local.relay_bus()
    local.engine.run_until_idle()
    assert state() == before
    assert local.consent_said() == []  # no choice was stated


def test_a_page_never_mints_a_token_that_outlives_the_link_that_opened_it(local, ana, monkeypatch):
    signer = local.services.links
    opened = signer.link("preferences", c="cus-ana")
    opened_until = signer.verify(token_of(opened), "preferences")["x"]
    # Eighty-nine days later the page is opened again: its form token ends with the link, not 90 days on.
    later = time.time() + 89 * 24 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    monkeypatch.setattr("postventa.logic.links.time.time", lambda: later)
    page = request(local, "GET", opened)["body"]
    (minted,) = set(re.findall(r'name="t" value="([^"]+)"', page)) or set(re.findall(r"\?t=([^\"&]+)", page))
    assert signer.verify(html.unescape(minted), "preferences")["x"] == opened_until
    monkeypatch.setattr("postventa.logic.links.time.time", lambda: opened_until + 1)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: opened_until + 1)
    assert (
        request(local, "GET", f"{local.settings.links_base_url}/preferences?t={minted}")["statusCode"] == 400
    )


def test_traces_keep_no_page_token_or_personal_data(local, ana, monkeypatch):
    """What X-Ray would store: the Tracer's subsegments, recorded here for every handler that ran."""
    from contextlib import contextmanager

    from postventa.handlers.observability import tracer

    recorded: list[dict] = []

    class Subsegment:
        def __init__(self):
            self.kept = {}
            recorded.append(self.kept)

        def put_metadata(self, key, value, namespace=None):
            self.kept[key] = value

        def put_annotation(self, key, value):
            self.kept[key] = value

        def add_exception(self, exception, stack, remote=False):
            self.kept["exception"] = str(exception)

    class Provider:
        @contextmanager
        def in_subsegment(self, name, **_):
            yield Subsegment()

    monkeypatch.setattr(tracer, "provider", Provider())
    (confirmation,) = local.messages()
    link = local.services.links.link("unsubscribe", c="cus-ana", m=confirmation.message_id)
    request(local, "GET", link)
    request(local, "POST", link, "List-Unsubscribe=One-Click")
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until_idle()

    assert len(recorded) >= 4  # the preference centre, on_order and run_step all ran traced
    text = repr(recorded)
    for secret in (token_of(link), "ana@example.com", "Ana", "<html"):
        assert secret not in text
