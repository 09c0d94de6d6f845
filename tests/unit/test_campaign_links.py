"""Links to the shop: where the review button leads, and the campaign tags links carry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from postventa.logic.links import Campaign, LinkTagger, ShopLinks, review_destination
from postventa.logic.render import RenderedMessage
from postventa.models.common import Money
from postventa.models.events import LineItemV1
from postventa.models.records import OrderRecord
from postventa.models.settings import DEFAULT_UTM, CampaignLinks

REVIEW_STEP = Campaign("email", "post-purchase", "review_request")
TAGGER = LinkTagger(frozenset({"shop.example"}), dict(DEFAULT_UTM), "https://shop.example/postventa")
TAGS = "utm_source=postventa&utm_medium=email&utm_campaign=post-purchase&utm_content=review_request"


def order(**changes) -> OrderRecord:
    price = Money(amount=Decimal("129.00"), currency="EUR")
    values = {
        "order_id": "A-1001",
        "customer_id": "c1",
        "order_number": "#1001",
        "placed_at": datetime(2026, 3, 2, tzinfo=UTC),
        "total": price,
        "status_url": "https://shop.example/orders/A-1001",
        "items": [
            LineItemV1(
                sku="SHOE 42", product_id="shoe-tr-42", name="Trail shoes", quantity=1, unit_price=price
            )
        ],
    }
    return OrderRecord(**{**values, **changes})


def test_a_link_to_the_shop_gets_the_parameters_it_lacks_before_its_fragment():
    tagged = TAGGER.tag("https://www.shop.example/p/shoe?color=red&utm_source=instagram#reviews", REVIEW_STEP)
    assert tagged == (
        "https://www.shop.example/p/shoe?color=red&utm_source=instagram"
        "&utm_medium=email&utm_campaign=post-purchase&utm_content=review_request#reviews"
    )


def test_other_sites_and_the_signed_preference_centre_links_are_left_as_they_are():
    for url in (
        "https://reviews.example/write?p=1",
        "https://notshop.example/",  # a host that merely ends like the shop's
        "https://shop.example/postventa/unsubscribe?t=signed.token",
    ):
        assert TAGGER.tag(url, REVIEW_STEP) == url


def test_html_hrefs_are_tagged_and_stay_escaped_and_bare_text_urls_too():
    html = '<a href="https://shop.example/p?a=1&amp;b=2">x</a> <a href="https://other.example/">y</a>'
    assert TAGGER.tag_html(html, REVIEW_STEP) == (
        f'<a href="https://shop.example/p?a=1&amp;b=2&amp;{TAGS.replace("&", "&amp;")}">x</a> '
        '<a href="https://other.example/">y</a>'
    )
    assert TAGGER.tag_text("Review it: https://shop.example/r.", REVIEW_STEP) == (
        f"Review it: https://shop.example/r?{TAGS}."
    )
    assert TAGGER.tag_text("Review (https://shop.example/r) now", REVIEW_STEP) == (
        f"Review (https://shop.example/r?{TAGS}) now"
    )


def test_the_review_destination_is_filled_from_the_order_and_its_first_item_quoted():
    template = "https://reviews.example/{product_id}/write?sku={sku}&order={order_number}&name={product}"
    assert review_destination(template, order=order()) == (
        "https://reviews.example/shoe-tr-42/write?sku=SHOE%2042&order=1001&name=Trail%20shoes"
    )


def test_without_a_destination_the_review_button_opens_the_order_page_else_the_shop():
    shop = ShopLinks.configured(CampaignLinks(), sender="Shop <orders@Shop.Example>", links_base_url=None)
    assert shop.review(order()) == "https://shop.example/orders/A-1001"
    assert shop.review(order(status_url=None)) == shop.home == "https://shop.example/"
    assert shop.review(None) == "https://shop.example/"
    configured = ShopLinks.configured(
        CampaignLinks(review_url="https://shop.example/products/{product_id}#reviews"),
        sender="orders@shop.example",
        links_base_url=None,
    )
    assert configured.review(order()) == "https://shop.example/products/shoe-tr-42#reviews"


def test_a_message_is_tagged_on_the_configured_channels_only():
    shop = ShopLinks.configured(CampaignLinks(), sender="orders@shop.example", links_base_url=None)
    message = RenderedMessage(
        text="Restock: https://shop.example/", html='<a href="https://shop.example/">x</a>'
    )
    email = shop.tagged(message, REVIEW_STEP)
    assert email.text == f"Restock: https://shop.example/?{TAGS}"
    assert email.html == f'<a href="https://shop.example/?{TAGS.replace("&", "&amp;")}">x</a>'
    sms = Campaign("sms", "post-purchase", "review_request")
    assert shop.tagged(message, sms) == message  # two segments instead of one: left out by default


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"review_url": "https://r.example/{product_name}"}, r"review_url: unknown \['product_name'\]"),
        ({"utm": {"utm_campaign": "{campaign}"}}, r"utm: unknown \['campaign'\]"),
        ({"utm_source": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_a_configuration_naming_what_a_link_does_not_know_is_refused(config, error):
    with pytest.raises(ValidationError, match=error):
        CampaignLinks.model_validate(config)
