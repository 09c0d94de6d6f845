"""Value types shared by the event contract and the stored records."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_precision, is_currency
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

# What a storefront event may say happened when: anything outside is a broken clock or a test
# value (year 9999), and would overflow date arithmetic far from the edge.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100


def _external_id(value: Any) -> str:
    # Shopify ids are 64-bit integers: a float has already lost digits, so refuse it outright.
    if isinstance(value, bool | float):
        raise ValueError("ids must be strings or integers, never floating-point numbers")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("ids must be non-empty strings or integers")


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money amounts must be strings or integers (floats lose cents)")
    return value


def _sane_year(value: date) -> date:
    low = EARLIEST_YEAR if isinstance(value, datetime) else 1900  # birthdays go back further
    if not low <= value.year <= LATEST_YEAR:
        raise ValueError(f"year {value.year} is outside {low}-{LATEST_YEAR}")
    return value


def _iso_4217(value: str) -> str:
    if not (len(value) == 3 and value.isupper() and is_currency(value)):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def _web_link(value: str) -> str:
    """Only http(s) becomes a link in a message: javascript:, data: and the like never do."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("links must be absolute http(s) URLs")
    return value.strip()


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA timezone {value!r}") from error
    return value


ExternalId = Annotated[str, BeforeValidator(_external_id)]
CurrencyCode = Annotated[str, AfterValidator(_iso_4217)]
Amount = Annotated[Decimal, BeforeValidator(_exact_decimal)]
TimezoneName = Annotated[str, AfterValidator(_known_timezone)]
Moment = Annotated[AwareDatetime, AfterValidator(_sane_year)]
Day = Annotated[date, AfterValidator(_sane_year)]
WebLink = Annotated[str, AfterValidator(_web_link)]


class Money(BaseModel):
    """An exact amount in one ISO 4217 currency."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    amount: Annotated[Amount, Field(ge=0, description="Never negative: a refund is its own event")]
    currency: CurrencyCode

    @property
    def minor_units(self) -> int:
        """Digits after the decimal point in this currency (ISO 4217): JPY 0, USD 2, KWD 3."""
        return int(get_currency_precision(self.currency))


# A span of time as journeys and the contact policy write it: 30m, 12h, 3d, 2w.
_DURATION = re.compile(r"^(?P<value>\d+)\s*(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if not match:
            raise ValueError(
                f"{value!r} is not a duration: write a whole number and a unit, e.g. 30m, 12h, 3d, 2w"
            )
        return timedelta(seconds=int(match["value"]) * _UNIT_SECONDS[match["unit"]])
    return value


def format_duration(value: timedelta) -> str:
    """The journey file's own notation, so a duration survives a round trip through a task payload."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, when_used="json")
]


def _signed_duration(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("-"):
        parsed = _duration(value.strip()[1:])
        return -parsed if isinstance(parsed, timedelta) else parsed
    return _duration(value)


# A duration that may count back, e.g. -3d: three days before a date.
SignedDuration = Annotated[
    timedelta, BeforeValidator(_signed_duration), PlainSerializer(format_duration, when_used="json")
]
