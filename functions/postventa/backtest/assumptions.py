"""What an order history cannot tell; each assumption is stated in the report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from postventa.logic.spread import fraction
from postventa.models.events import Channel, ConsentState, OrderPlacedV1, PushPlatform, PushTokenV1
from postventa.models.policy import ContactPolicy
from postventa.models.settings import DEFAULT_SEND_RATE


@dataclass(frozen=True)
class Assumptions:
    fulfilment_days: float = 2.0
    open_rate: float = 0.35
    click_rate: float = 0.08
    # A click on the survey email is an answer (its links are the scores): the bands' shares.
    promoter_share: float = 0.5
    detractor_share: float = 0.2
    consent: ConsentState = ConsentState.SUBSCRIBED
    timezone: str = "UTC"
    # The contact policy the journeys run under: the deployed default unless a backtest compares.
    contact_policy: ContactPolicy = field(default_factory=ContactPolicy)
    # Sends per second per channel, shared by the worker processes: the deployed default.
    send_rate: dict[Channel, int] = field(default_factory=lambda: dict(DEFAULT_SEND_RATE))
    # Customers who chose SMS first (with consent and a mobile number in phone_country), and
    # customers who chose push first (with the app and consent); the rest are email's.
    sms_share: float = 0.0
    push_share: float = 0.0
    phone_country: str = "US"
    sms_price_per_segment: float | None = None  # None: the published price for phone_country
    # 0: when a message goes makes no difference (opened two hours after it, at the open rate).
    # Above 0: each customer reads at an hour of their own (READING_HOURS), opens there, and a
    # message that arrives in that hour or the one before is opened (and clicked) 1 + lift times
    # as often: what a send-time test measures (wait_until's best_hour against a fixed hour).
    reading_hour_lift: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.sms_share + self.push_share <= 1 or min(self.sms_share, self.push_share) < 0:
            raise ValueError("sms_share and push_share: shares of the customers, together at most 1")
        if self.reading_hour_lift < 0 or self.open_rate * (1 + self.reading_hour_lift) > 1:
            raise ValueError("reading_hour_lift: from 0 to what keeps the open rate at most 1")

    def fill_in(self, order: OrderPlacedV1) -> OrderPlacedV1:
        """The history says nothing of consent, address or timezone: the assumptions fill them in
        (as each order is replayed, so the history is held once)."""
        customer = order.customer
        filled: dict[str, Any] = {
            "email": customer.email or f"{customer.id}@backtest.invalid",
            "email_marketing": self.consent,
            "timezone": self.timezone,
        }
        share = _share(customer.id)  # the same customer takes the same channel on every order
        if share < self.sms_share:
            filled |= {
                "phone": _mobile_number(self.phone_country, customer.id),
                "country": self.phone_country,
                "sms_marketing": self.consent,
                "sms_transactional": ConsentState.SUBSCRIBED,
                "channels": [Channel.SMS, Channel.EMAIL],
            }
        elif share < self.sms_share + self.push_share:
            token = PushTokenV1(
                platform=PushPlatform.APNS, token=hashlib.sha256(customer.id.encode()).hexdigest()
            )
            filled |= {
                "push_tokens": [token],
                "push_marketing": self.consent,
                "channels": [Channel.PUSH, Channel.EMAIL],
            }
        return order.model_copy(update={"customer": customer.model_copy(update=filled)})


# Local hours customers read their mail in, with how many read at each: before work, at lunch, in
# the evening (some inside the default quiet hours, 21:00-09:00, where nothing is sent).
READING_HOURS = {7: 1, 8: 2, 12: 2, 13: 1, 18: 2, 19: 3, 20: 3, 21: 2}


def reading_hour(customer_id: str) -> int:
    """The customer's own reading hour, stable across runs and orders."""
    point = fraction("reading hour", customer_id) * sum(READING_HOURS.values())
    for hour, weight in READING_HOURS.items():
        point -= weight
        if point < 0:
            return hour
    return max(READING_HOURS)


def _share(customer_id: str) -> float:
    """A stable point in [0, 1) for the customer."""
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) / 2**32


def _mobile_number(country: str, customer_id: str) -> str:
    """A valid mobile number of the country, different per customer (the country's example
    mobile number with the last four digits of the customer's own)."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phone_country {country}: no mobile numbers known for it")
    national = str(example.national_number)
    own = f"{national[:-4]}{int(hashlib.sha256(customer_id.encode()).hexdigest(), 16) % 10_000:04d}"
    candidate = phonenumbers.parse(f"+{example.country_code}{own}")
    number = candidate if phonenumbers.is_valid_number(candidate) else example
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
