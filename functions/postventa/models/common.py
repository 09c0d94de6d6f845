"""Value types shared by the event contract and the stored records."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints


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


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA timezone {value!r}") from error
    return value


ExternalId = Annotated[str, BeforeValidator(_external_id)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[Decimal, BeforeValidator(_exact_decimal)]
TimezoneName = Annotated[str, AfterValidator(_known_timezone)]


class Money(BaseModel):
    """An exact amount in one ISO 4217 currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: CurrencyCode

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"
