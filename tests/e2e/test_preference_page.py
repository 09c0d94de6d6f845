"""The preference centre in a real headless browser (Debian's Chromium), against the Lambda
handler served on localhost, with moto behind it."""

from __future__ import annotations

import shutil

import pytest

from postventa.local.simulate import LocalPostventa
from postventa.local.web import serve
from postventa.models.events import Channel, ConsentState
from tests.conftest import EVENTS, load_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=30_000)
        context = launched.new_context()
        context.set_default_timeout(5_000)
        yield context
        launched.close()


@pytest.fixture
def site():
    with LocalPostventa() as local:
        placed = load_json(EVENTS / "order-placed.json")
        placed["detail"]["customer"].update(locale="en", phone="+34612345678")
        local.deliver(placed)
        server, base = serve(local.http)
        try:
            yield local, base
        finally:
            server.shutdown()


def path_of(local, action: str, **claims) -> str:
    return local.services.links.link(action, **claims).removeprefix(local.settings.links_base_url)


def test_a_customer_chooses_sms_first_and_drops_offers(browser, site):
    local, base = site
    page = browser.new_page()
    page.goto(base + path_of(local, "preferences", c="cus-ana"))
    assert page.inner_text("h1") == "What should we send you, Ana?"
    assert page.is_checked("input[value=email]") and not page.is_checked("input[value=sms]")
    assert page.is_disabled("input[value=push]")  # no app installation to send to
    page.uncheck("input[value=email]")
    page.check("input[value=sms]")
    page.uncheck("input[name=topics][value=offers]")
    page.click("button[type=submit]")
    assert "Saved." in page.inner_text("#saved")
    profile = local.services.store.get_profile("cus-ana")
    assert profile.channels == [Channel.SMS]
    assert (profile.email_marketing, profile.sms_marketing) == (
        ConsentState.UNSUBSCRIBED,
        ConsentState.SUBSCRIBED,
    )
    assert "offers" in profile.topics_unsubscribed
    assert page.is_checked("input[value=sms]") and not page.is_checked("input[name=topics][value=offers]")
    page.close()


def test_the_unsubscribe_button_unsubscribes_and_offers_the_preferences_instead(browser, site):
    local, base = site
    page = browser.new_page()
    page.goto(base + path_of(local, "unsubscribe", c="cus-ana", m="m1"))
    assert local.services.store.get_profile("cus-ana").email_marketing is ConsentState.SUBSCRIBED
    page.click("button[type=submit]")
    assert page.inner_text("#done") == "You are unsubscribed"
    assert local.services.store.get_profile("cus-ana").email_marketing is ConsentState.UNSUBSCRIBED
    page.click("text=Choose what we send you instead")
    assert page.inner_text("h1") == "What should we send you, Ana?"
    page.close()


def test_an_altered_link_shows_why_and_changes_nothing(browser, site):
    local, base = site
    before = local.services.store.get_profile("cus-ana")
    page = browser.new_page()
    response = page.goto(base + path_of(local, "preferences", c="cus-ana")[:-2] + "xx")
    assert response.status == 400
    assert page.inner_text("#invalid") == "This link does not work"
    assert "Nothing was changed." in page.inner_text("main")
    assert local.services.store.get_profile("cus-ana") == before
    page.close()
