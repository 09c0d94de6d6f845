"""Render message templates: Jinja2 sandboxed, HTML autoescaped, strict about missing data."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from postventa.logic.channels import CHANNELS
from postventa.models.common import Money
from postventa.models.events import Channel
from postventa.models.records import CustomerProfile, OrderRecord

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedMessage:
    """Email: subject, html and text. SMS: text. Push: title and text."""

    text: str
    subject: str | None = None
    html: str | None = None
    title: str | None = None
    marketing: bool = False
    unsubscribe_url: str | None = None  # marketing email: RFC 8058 one-click unsubscribe


_ONE_LINE = {"subject", "title"}


def format_money(value: Money | dict[str, Any], locale: str = "en") -> str:
    """In the currency's own minor units (ISO 4217) and the locale's way of writing them:
    JPY 1500 as ¥1,500, KWD 12.345 as KWD 12.345, EUR 1500 as 1.500,00 € in German."""
    money = value if isinstance(value, Money) else Money.model_validate(value)
    return str(format_currency(money.amount, money.currency, locale=_babel_locale(locale)))


def _babel_locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@pass_context
def _money_filter(context: Context, value: Money | dict[str, Any]) -> str:
    return format_money(value, context.get("locale") or "en")


@pass_context
def _day_filter(context: Context, value: str | date) -> str:
    """A date, or a moment's date in the customer's timezone, as the locale writes it in full:
    "10 March 2026", "10 de marzo de 2026"."""
    day = value if isinstance(value, date) else datetime.fromisoformat(value)
    if isinstance(day, datetime):
        day = day.astimezone(ZoneInfo(context.get("timezone") or "UTC")).date()
    return str(format_date(day, format="long", locale=_babel_locale(context.get("locale") or "en")))


def _number_locale(customer_locale: str | None, chosen: str) -> str:
    """The customer's own regional variant when the message is in their language, else the message's."""
    if customer_locale and customer_locale.split("-")[0].lower() == chosen.split("-")[0].lower():
        return customer_locale
    return chosen


def one_line(text: str) -> str:
    """A header (subject, push title): one line, no control characters (a NUL, a CR injecting headers)."""
    kept = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    return " ".join(kept.split())


def message_context(
    *,
    profile: CustomerProfile,
    order: OrderRecord | None,
    shop_name: str,
    support_email: str,
    links: Any,
    marketing: bool = False,
    channel: Channel = Channel.EMAIL,
    event: dict[str, Any] | None = None,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """event: the event that started the journey, in journeys that carry it (Checkout Started's cart).
    timezone: the customer's, in which the `day` filter names a moment's date."""
    in_order = {item.name for item in order.items} if order else set()
    return {
        "customer": {
            "first_name": profile.first_name or "there",
            "last_name": profile.last_name or "",
            "attributes": profile.attributes,  # the shop's own fields, as declared
        },
        "order": order.model_dump() if order else None,
        "event": event,
        # the scoring job's complements, less what this order already brought them
        "recommendations": [name for name in profile.recommended if name not in in_order][:3],
        "shop": {"name": shop_name, "support_email": support_email},
        "links": links,
        "marketing": marketing,
        "channel": channel.value,
        "timezone": timezone,
    }


class MessageRenderer:
    """templates/<channel>/<locale>/<name>.*, falling back from es-MX to es to the shop's locale.
    roots: searched in order for each file (a shop's folder before the default library)."""

    def __init__(self, default_locale: str = "en", roots: Sequence[Path] = (TEMPLATES,)):
        self._default_locale = default_locale
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(list(roots)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["money"] = _money_filter
        self._env.filters["day"] = _day_filter

    def locale_for(self, channel: Channel, template: str, locale: str | None) -> str:
        return self._first_locale(f"{channel.value}/{{}}/{template}.{CHANNELS[channel].locale_file}", locale)

    def _first_locale(self, pattern: str, locale: str | None) -> str:
        candidates = [locale, locale.split("-")[0] if locale else None, self._default_locale]
        for candidate in filter(None, candidates):
            try:
                self._env.get_template(pattern.format(candidate))
            except TemplateNotFound:
                continue
            return candidate
        raise TemplateNotFound(f"{pattern.format('*')} (no locale of {candidates})")

    def page(self, name: str, locale: str | None, context: dict[str, Any]) -> str:
        """A preference-centre page, templates/pages/<locale>/<name>.html."""
        chosen = self._first_locale(f"pages/{{}}/{name}.html", locale)
        return self._env.get_template(f"pages/{chosen}/{name}.html").render({**context, "locale": chosen})

    def render(
        self,
        channel: Channel,
        template: str,
        locale: str | None,
        context: dict[str, Any] | Callable[[], dict[str, Any]],
    ) -> RenderedMessage:
        """`context` may be a function: built only when rendering (a backtest never renders)."""
        chosen = self.locale_for(channel, template, locale)
        data = {**(context() if callable(context) else context), "locale": _number_locale(locale, chosen)}
        parts: dict[str, Any] = {}
        for part, suffix in CHANNELS[channel].parts.items():
            rendered = self._env.get_template(f"{channel.value}/{chosen}/{template}.{suffix}").render(data)
            parts[part] = one_line(rendered) if part in _ONE_LINE else rendered.strip()
        return RenderedMessage(**parts)
