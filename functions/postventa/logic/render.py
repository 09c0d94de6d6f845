"""Render message templates: Jinja2 sandboxed, HTML autoescaped, strict about missing data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from postventa.models.common import Money
from postventa.models.records import CustomerProfile, OrderRecord

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def format_money(value: Money | dict[str, Any]) -> str:
    money = value if isinstance(value, Money) else Money.model_validate(value)
    return f"{money.amount.quantize(Decimal('0.01')):,} {money.currency}"


def email_context(
    *,
    profile: CustomerProfile,
    order: OrderRecord | None,
    shop_name: str,
    support_email: str,
    links: Any,
) -> dict[str, Any]:
    return {
        "customer": {"first_name": profile.first_name or "there", "last_name": profile.last_name or ""},
        "order": order.model_dump() if order else None,
        "shop": {"name": shop_name, "support_email": support_email},
        "links": links,
    }


class EmailRenderer:
    def __init__(self, default_locale: str = "en", root: Path = TEMPLATES):
        self._default_locale = default_locale
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(root / "email"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["money"] = format_money

    def _locale_for(self, template: str, locale: str | None) -> str:
        candidates = [locale, locale.split("-")[0] if locale else None, self._default_locale]
        for candidate in filter(None, candidates):
            try:
                self._env.get_template(f"{candidate}/{template}.html")
            except TemplateNotFound:
                continue
            return candidate
        raise TemplateNotFound(f"{template} (no locale of {candidates})")

    def render(
        self, template: str, locale: str | None, context: dict[str, Any] | Callable[[], dict[str, Any]]
    ) -> RenderedEmail:
        """`context` may be a function: built only when rendering (a backtest never renders)."""
        chosen = self._locale_for(template, locale)
        data = context() if callable(context) else context

        def part(suffix: str) -> str:
            return self._env.get_template(f"{chosen}/{template}.{suffix}").render(data).strip()

        return RenderedEmail(
            subject=" ".join(part("subject.txt").split()), html=part("html"), text=part("txt")
        )
