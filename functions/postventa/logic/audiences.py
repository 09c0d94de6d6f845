"""Audiences for ads: who of a segment may be matched on paid social and search, and the hashed
lists Meta Custom Audiences and Google Customer Match take.

Both platforms match SHA-256 hex digests of normalized identifiers. An address is trimmed and
lower-cased for both. A number is E.164 for Google ("+14155550100") and the same digits without
the plus for Meta ("14155550100"), so the two lists hash a number differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from postventa.journeys.model import Audience
from postventa.logic.conditions import all_hold
from postventa.logic.facts import facts
from postventa.logic.sms import e164
from postventa.models.events import ConsentState
from postventa.models.records import CustomerProfile, NpsAnswer


class Platform(StrEnum):
    META = "meta"
    GOOGLE = "google"


# The column headers each platform's customer-list upload reads (hashed values are accepted in them).
HEADERS: dict[Platform, tuple[str, str]] = {
    Platform.META: ("email", "phone"),
    Platform.GOOGLE: ("Email", "Phone"),
}


@dataclass(frozen=True)
class Identifiers:
    """What of a customer may be matched: only what they gave marketing consent for."""

    email: str | None
    phone: str | None  # E.164

    def hashed(self, platform: Platform) -> tuple[str, str]:
        """The row of the platform's list: each identifier normalized and hashed, "" where none."""
        phone = self.phone if platform is Platform.GOOGLE or self.phone is None else self.phone[1:]
        return (_sha256(self.email.strip().lower()) if self.email else "", _sha256(phone) if phone else "")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def consented_identifiers(profile: CustomerProfile) -> Identifiers | None:
    """The customer's address if they are subscribed to marketing email and it may be mailed, and
    their number if they are subscribed to marketing texts and it may be texted; None when neither,
    or while a support case of theirs is open (an ad is a promotion too)."""
    if profile.open_cases:
        return None
    email = (
        profile.email
        if profile.email
        and profile.email_marketing is ConsentState.SUBSCRIBED
        and profile.email_suppressed is None
        else None
    )
    phone = (
        e164(profile.phone, profile.country)
        if profile.sms_marketing is ConsentState.SUBSCRIBED and profile.sms_opted_out is None
        else None
    )
    return Identifiers(email, phone) if email or phone else None


def audiences_of(
    profile: CustomerProfile, answer: NpsAnswer | None, audiences: Iterable[Audience], now: datetime
) -> list[str]:
    """The names of the audiences the customer is in at `now`, consent aside."""
    known: Mapping[str, Any] = facts(profile=profile, order=None, nps=answer, now=now)
    return [audience.name for audience in audiences if all_hold(audience.conditions, known)]


def removed(previous: Sequence[tuple[str, str]], current: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows that take out of a list what was in the previous one and is not now, one hashed
    identifier a row: a withdrawn consent, a customer who left the segment, an erased one."""
    gone: list[tuple[str, str]] = []
    for column in (0, 1):
        left = {row[column] for row in previous} - {row[column] for row in current} - {""}
        gone += [(value, "") if column == 0 else ("", value) for value in sorted(left)]
    return gone
