"""SMS specifics: E.164 numbers and how many parts (billed segments) a text costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import phonenumbers

# GSM 03.38: the default alphabet (one septet each) and its extension table (escape + one septet).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_size(text: str) -> SmsSize:
    """Carriers bill per segment: 160 GSM-7 septets or 70 UCS-2 units alone, 153 or 67 per part
    once a text is split (the rest carries the reassembly header). One character outside GSM-7
    (á, í, ó, ú, an emoji) makes the whole text UCS-2."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / part)
    return SmsSize(encoding=encoding, units=units, segments=segments)


def e164(phone: str | None, country: str | None) -> str | None:
    """The number in E.164 (+14155550100), reading national numbers in the customer's country;
    None when it is not a valid phone number."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# SNS's words (its delivery-status logs' providerResponse) for a refusal about the number itself,
# which retrying will not change: invalid, unallocated, blocking SMS, opted out. A carrier blocking
# one message (its content, the sender's registration) says nothing of the number: not here.
_PERMANENT = (
    "invalid phone",
    "phone number is invalid",
    "not a valid phone",
    "does not exist",
    "unallocated",
    "phone has blocked",
    "on a blocked list",
    "opted out",
)


def permanent_sms_failure(provider_response: str) -> bool:
    """A failure to stop texting the number for: not an unreachable phone or a price limit."""
    text = provider_response.lower()
    return any(words in text for words in _PERMANENT)


CARRIER_REFUSAL = "carrier: "  # how a number's suppression by the carrier reads (sms_opted_out)


def refused_by_carrier(opted_out: str | None) -> bool:
    """The number's texts stopped by the carrier's word, not by the customer's (a STOP reply)."""
    return opted_out is not None and opted_out.startswith(CARRIER_REFUSAL)
