"""`postventa templates render`: one template on one channel and locale, with sample data, as
the customer would get it (links signed with a sample key)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from postventa.adapters.email import send_email_request
from postventa.adapters.push import message_request
from postventa.adapters.sms import publish_request
from postventa.journeys.library import Library
from postventa.journeys.model import SendStep
from postventa.local.outbox import Handed, file_name, prepare, write_handed
from postventa.local.preview import PreviewCustomer
from postventa.logic.links import Campaign, LinkSigner, ShopLinks
from postventa.logic.render import RenderedMessage, message_context
from postventa.logic.sms import sms_size
from postventa.models.common import Money
from postventa.models.custom import PropertySpec
from postventa.models.events import (
    Channel,
    CheckoutStartedV1,
    CustomerV1,
    LineItemV1,
    PushPlatform,
    PushTokenV1,
)
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus, OrderRecord
from postventa.models.settings import CampaignLinks
from postventa.services.steps import MessageLinks, as_handed

NOW = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
SAMPLE_LINKS_BASE_URL = "https://shop.example/postventa"
SAMPLE_PHONE = "+14155550100"
SAMPLE_TOKEN = PushTokenV1(platform=PushPlatform.APNS, token="sample-device-token")


def _sample_order() -> OrderRecord:
    def usd(amount: str) -> Money:
        return Money(amount=Decimal(amount), currency="USD")

    return OrderRecord(
        order_id="sample-1",
        customer_id="sample-customer",
        order_number="#1001",
        placed_at=NOW,
        total=usd("158.00"),
        status_url="https://shop.example/orders/1001",
        items=[
            LineItemV1(
                name="Trail running shoes", quantity=1, unit_price=usd("129.00"), categories=["footwear"]
            ),
            LineItemV1(name="Merino socks", quantity=2, unit_price=usd("14.50"), categories=["apparel"]),
        ],
    )


def _sample_checkout(order: OrderRecord) -> dict[str, object]:
    """What a journey started by a checkout carries (event.*): the order's cart, not paid yet."""
    return CheckoutStartedV1(
        checkout_id="sample-checkout",
        customer=CustomerV1(id=order.customer_id),
        started_at=order.placed_at,
        currency=order.total.currency,
        total=order.total,
        items=order.items,
        recovery_url="https://shop.example/checkouts/sample/recover?key=sample",
    ).model_dump(mode="json")


_SAMPLE_VALUES: dict[str, Callable[[str], Any]] = {
    "text": lambda name: f"Sample {name.replace('_', ' ')}",
    "number": lambda name: 12.5,
    "integer": lambda name: 3,
    "bool": lambda name: True,
    "date": lambda name: (NOW + timedelta(days=3)).date().isoformat(),
    "datetime": lambda name: (NOW + timedelta(days=3)).isoformat(),
    "url": lambda name: f"https://shop.example/sample/{name}",
    "money": lambda name: {"amount": "24.00", "currency": "USD"},
    "list": lambda name: [f"sample-{name}"],
}


def _sample_event(template: str, library: Library, order: OrderRecord) -> dict[str, Any]:
    """What the journey sending this template carries (event.*): a declared event's properties,
    each a sample of its type, or else a checkout's cart."""
    for journey in library.journeys().values():
        declared = library.contract.events.get(str(journey.trigger.event))
        sends = {step.send.template for step in journey.all_steps() if isinstance(step, SendStep)}
        if declared is not None and template in sends:
            return {"occurred_at": NOW.isoformat(), "order_id": None, **_samples(declared.properties)}
    return _sample_checkout(order)


def _samples(declared: Mapping[str, PropertySpec]) -> dict[str, Any]:
    """A sample of each declared property's type."""
    return {name: _SAMPLE_VALUES[spec.type](name) for name, spec in declared.items()}


def sample_message(
    template: str,
    channel: Channel,
    locale: str | None,
    *,
    marketing: bool,
    library: Library | None,
    customer: PreviewCustomer | None = None,
) -> tuple[str, RenderedMessage]:
    """The locale chosen and the message as run_step hands it to a sender. customer: render for
    them and their order (journeys preview's file) instead of the sample's."""
    library = library or Library()
    renderer = library.renderer()
    if customer is None:
        profile = CustomerProfile(
            customer_id="sample-customer",
            first_name="Alex",
            locale=locale,
            updated_at=NOW,
            recommended=["Running cap", "Trail gaiters"],
            attributes=_samples(library.contract.attributes.attributes),
        )
    else:
        stated = CustomerProfile(customer_id=customer.customer.id, updated_at=NOW).merged_with(
            customer.customer, NOW
        )
        profile = stated.model_copy(update={"locale": locale or stated.locale})
    order = (
        OrderRecord.placed(customer.order.placed(customer.customer), profile.customer_id)
        if customer is not None and customer.order is not None
        else _sample_order()
    )
    record = MessageRecord(
        message_id="sample-message",
        customer_id=profile.customer_id,
        order_id="sample-1",
        journey="sample",
        version=1,
        step=template,
        execution_id="sample",
        channel=channel.value,
        template=template,
        purpose="marketing" if marketing else "transactional",
        status=MessageStatus.SENDING,
        at=NOW,
    )
    shop = ShopLinks.configured(
        CampaignLinks(), sender="orders@shop.example", links_base_url=SAMPLE_LINKS_BASE_URL
    )
    links = MessageLinks(
        LinkSigner("sample-key", SAMPLE_LINKS_BASE_URL), shop, record, order, unsubscribe=marketing
    )
    context = message_context(
        profile=profile,
        order=order,
        shop_name="Postventa Demo Shop",
        support_email="support@shop.example",
        links=links,
        marketing=marketing,
        channel=channel,
        event=_sample_event(template, library, order),
    )
    chosen = renderer.locale_for(channel, template, profile.locale)
    rendered = renderer.render(channel, template, profile.locale, context)
    message = as_handed(
        rendered, Campaign(channel.value, "sample", template), shop, links, marketing=marketing
    )
    return chosen, message


def write_sample(
    folder: Path,
    template: str,
    channel: Channel,
    locale: str | None,
    *,
    marketing: bool,
    library: Library | None = None,
) -> Path:
    """The sample message as its provider would be handed it, in an outbox folder."""
    _, message = sample_message(template, channel, locale, marketing=marketing, library=library)
    tags = {"journey": "sample", "step": template, "customer": "sample-customer", "message": "sample-message"}
    if channel is Channel.EMAIL:
        request = send_email_request(
            sender="Postventa Demo Shop <orders@shop.example>",
            to="alex@example.com",
            message=message,
            tags=tags,
            configuration_set="postventa",
        )
    elif channel is Channel.SMS:
        request = publish_request(to=SAMPLE_PHONE, message=message, sender_id=None)
    else:
        request = message_request(to=(SAMPLE_TOKEN,), message=message, tags=tags)
    prepare(folder, replace=False)
    name = file_name(NOW, "sample-customer", "sample", f"{template}-{channel.value}-{locale or 'default'}")
    return write_handed(folder, name, Handed(channel, request, "sample-message", NOW))


def render_sample(
    template: str,
    channel: Channel,
    locale: str | None,
    *,
    marketing: bool,
    html: bool = False,
    library: Library | None = None,
) -> str:
    chosen, message = sample_message(template, channel, locale, marketing=marketing, library=library)
    lines = [
        f"{channel.value} / {template} / locale {chosen}"
        + ("" if chosen == locale else f" (asked for {locale})")
    ]
    if channel is Channel.EMAIL:
        lines += [f"Subject: {message.subject}", "", (message.html or "") if html else message.text]
    elif channel is Channel.PUSH:
        lines += [f"Title: {message.title}", message.text]
    else:
        size = sms_size(message.text)
        per_part = 160 if size.encoding == "GSM-7" else 70
        lines += [
            message.text,
            "",
            f"{size.encoding}, {size.units} {'septets' if size.encoding == 'GSM-7' else 'UTF-16 units'}: "
            f"{size.segments} segment{'s' if size.segments > 1 else ''} (one holds {per_part})",
        ]
    return "\n".join(lines)
