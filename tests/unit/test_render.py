"""Templates: what the customer reads, escaped, with a text part, in one voice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from postventa.logic.render import MessageRenderer, message_context
from postventa.models.common import Money
from postventa.models.events import Channel, LineItemV1
from postventa.models.records import CustomerProfile, OrderRecord
from tests.conftest import EVENTS, load_json

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def context(first_name="Ana", unsubscribe=None, recommended=(), currency="USD", total="158.00"):
    usd = lambda amount: Money(amount=Decimal(amount), currency=currency)  # noqa: E731
    order = OrderRecord(
        order_id="A-1",
        customer_id="c1",
        order_number="#1001",
        placed_at=NOW,
        total=usd(total),
        items=[
            LineItemV1(name="Trail shoes <b>", quantity=1, unit_price=usd("129.00")),
            LineItemV1(name="Merino socks", quantity=2, unit_price=usd("14.50")),
        ],
    )
    profile = CustomerProfile(
        customer_id="c1", first_name=first_name, updated_at=NOW, recommended=list(recommended)
    )
    links = {
        "nps": [f"https://l/nps/{s}" for s in range(11)],
        "review": "https://l/review",
        "shop": "https://shop.example/",
        "unsubscribe": unsubscribe,
        "preferences": "https://l/preferences",
    }
    return message_context(
        profile=profile, order=order, shop_name="Demo Shop", support_email="help@shop.example", links=links
    )


def test_order_confirmation_lists_items_and_total_in_both_parts():
    email = MessageRenderer().render(Channel.EMAIL, "order_confirmation", "en", context())
    assert email.subject == "Thank you for your order #1001, Ana"
    for part in (email.html, email.text):
        assert "Merino socks" in part and "$14.50" in part and "$158.00" in part
    assert "2 x Merino socks: $14.50" in email.text
    assert "Total: $158.00" in email.text


@pytest.mark.parametrize(
    ("currency", "total", "locale", "shown"),
    [
        ("JPY", "1500", "en", "¥1,500"),  # no minor unit: never "1,500.00"
        ("KWD", "12.345", "en", "KWD12.345"),  # three: never rounded to 12.34
        ("EUR", "1500", "es", "1.500,00\xa0€"),  # Spanish order of symbol and separators
        ("MXN", "1500", "es-MX", "$1,500.00"),  # the customer's regional variant of the language
        ("EUR", "1500", "de", "€1,500.00"),  # no German template: the English message's format
    ],
)
def test_amounts_are_written_in_the_currency_minor_units_and_the_message_locale(
    currency, total, locale, shown
):
    email = MessageRenderer().render(
        Channel.EMAIL, "order_confirmation", locale, context(currency=currency, total=total)
    )
    assert shown in email.text


def test_control_characters_never_reach_a_header():
    email = MessageRenderer().render(
        Channel.EMAIL, "order_confirmation", "en", context(first_name="Ana\x00\r\nBcc: x")
    )
    assert email.subject == "Thank you for your order #1001, Ana Bcc: x"


def test_cross_sell_names_the_complements_the_order_did_not_already_bring():
    recommended = ("Merino socks", "Running cap", "Trail gaiters")  # socks are in this order
    email = MessageRenderer().render(Channel.EMAIL, "cross_sell", "en", context(recommended=recommended))
    assert "also chose: Running cap, Trail gaiters." in email.text
    assert (
        '<li style="margin:0 0 4px 0;">Running cap</li>' in email.html
        and "Merino socks</li>" not in email.html
    )
    sms = MessageRenderer().render(Channel.SMS, "cross_sell", "es", context(recommended=recommended))
    assert "Running cap combina con tu Trail shoes" in sms.text
    plain = MessageRenderer().render(Channel.EMAIL, "cross_sell", "en", context())
    assert "we picked things that complement it" in plain.text  # no scores yet: the general wording


def test_html_is_escaped_and_text_is_not():
    email = MessageRenderer().render(
        Channel.EMAIL, "order_confirmation", "en", context(first_name="<script>x</script>")
    )
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "Trail shoes &lt;b&gt;" in email.html
    assert "Hi <script>x</script>," in email.text


def test_survey_has_eleven_score_links():
    email = MessageRenderer().render(Channel.EMAIL, "nps_survey", "en", context())
    assert all(f'href="https://l/nps/{score}"' in email.html for score in range(11))
    assert "10: https://l/nps/10" in email.text


def test_unsubscribe_link_only_when_given():
    assert (
        "Unsubscribe"
        not in MessageRenderer().render(Channel.EMAIL, "order_confirmation", "en", context()).html
    )
    tips = MessageRenderer().render(
        Channel.EMAIL, "product_tips", "en", context(unsubscribe="https://l/unsub")
    )
    assert 'href="https://l/unsub"' in tips.html and "https://l/unsub" in tips.text


def test_unknown_locale_falls_back_to_the_default():
    assert (
        MessageRenderer().render(Channel.EMAIL, "review_request", "fr-CA", context()).subject
        == "How is your Trail shoes <b>, Ana?"
    )


def carried(detail_type) -> dict:
    """What a journey started by this event carries (event.*): the fixture's detail as on_order
    parses it, less who it is about."""
    from postventa.journeys.library import Library
    from postventa.models.inbound import parse_inbound
    from postventa.models.schemas import schema_file_name

    stem = schema_file_name(detail_type).split(".")[0]
    name = stem if detail_type == "Checkout Started" else f"custom/{stem}"
    event = parse_inbound(load_json(EVENTS / f"{name}.json"), Library().contract)
    return event.detail.model_dump(mode="json", exclude={"customer"})


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_template_a_journey_may_send_exists_for_each_channel_it_may_take(locale):
    """ "preferred" may take any channel of the journey's phase: each needs its template, in both languages."""
    from postventa.journeys.loader import load_journeys
    from postventa.journeys.model import SendStep
    from postventa.logic.channels import channels_of

    renderer = MessageRenderer()
    for journey in load_journeys().values():
        with_order = journey.trigger.event is not None  # occasions have no order to show
        # a checkout is no order: its cart is the event the execution carries, as a declared event is
        checkout = carried(journey.trigger.event) if journey.carries_trigger else None
        for step in journey.all_steps():
            if not isinstance(step, SendStep):
                continue
            send = step.send
            for channel in channels_of(send.channels, journey.phase):
                data = context(unsubscribe="https://l/unsub")
                if not with_order or checkout:
                    data["order"] = None
                data["event"] = checkout
                assert renderer.locale_for(channel, send.template, locale) == locale, (
                    journey.name,
                    step.id,
                    channel,
                )
                message = renderer.render(channel, send.template, locale, data)
                assert message.text, (journey.name, step.id, channel)
                if channel is Channel.EMAIL:
                    assert message.subject and message.html, (journey.name, step.id)
                if channel is Channel.PUSH:
                    assert message.title, (journey.name, step.id)


def test_spanish_texts_stay_in_gsm7_so_a_text_costs_one_segment_where_it_can():
    from postventa.local.samples import render_sample

    for template in ("order_confirmation", "shipping_delay", "birthday", "anniversary", "we_miss_you"):
        assert render_sample(template, Channel.SMS, "es", marketing=True).endswith(
            "1 segment (one holds 160)"
        )


def test_templates_render_prints_sms_size_and_falls_back_to_the_shops_locale(capsys):
    from postventa.cli import main

    assert main(["templates", "render", "order_confirmation", "--channel", "sms", "--locale", "es-MX"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sms / order_confirmation / locale es (asked for es-MX)")
    assert "Postventa Demo Shop: gracias por tu pedido #1001, Alex." in out and "GSM-7" in out
    assert main(["templates", "render", "order_confirmation", "--channel", "push", "--locale", "fr"]) == 0
    assert "locale en (asked for fr)" in capsys.readouterr().out
