"""`postventa templates render`: one template on one channel and locale, with sample data, as
the customer would get it (links signed with a sample key)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from postventa.journeys.library import Library
from postventa.logic.links import LinkSigner
from postventa.logic.render import message_context
from postventa.logic.sms import sms_size
from postventa.models.common import Money
from postventa.models.events import Channel, LineItemV1
from postventa.models.records import CustomerProfile, MessageRecord, MessageStatus, OrderRecord
from postventa.services.steps import MessageLinks

NOW = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)


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


def render_sample(
    template: str,
    channel: Channel,
    locale: str | None,
    *,
    marketing: bool,
    html: bool = False,
    library: Library | None = None,
) -> str:
    renderer = (library or Library()).renderer()
    profile = CustomerProfile(
        customer_id="sample-customer",
        first_name="Alex",
        locale=locale,
        updated_at=NOW,
        recommended=["Running cap", "Trail gaiters"],
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
    links = MessageLinks(
        LinkSigner("sample-key", "https://shop.example/postventa"), record, unsubscribe=marketing
    )
    context = message_context(
        profile=profile,
        order=_sample_order(),
        shop_name="Postventa Demo Shop",
        support_email="support@shop.example",
        links=links,
        marketing=marketing,
        channel=channel,
    )
    chosen = renderer.locale_for(channel, template, locale)
    message = renderer.render(channel, template, locale, context)
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
