"""The best hour to send: learnt from when each customer opens and clicks, in their own timezone,
with the shop's hours as the prior for customers with little history (a message sent at the
start of the hour the customer reads in is read first, not under a pile).

Counts are kept per local hour, 24 of them: on the profile (the customer's own opens) and on one
shop-wide item (everyone's). The customer's hour is the one with most opens once the shop's
shape, worth PRIOR_OPENS of the customer's own, is added and each hour is smoothed with its
neighbours, among the hours a message may go at (outside quiet hours)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from postventa.models.policy import ContactPolicy

BEST_HOUR = "best_hour"  # what `at` says in a wait_until to mean the customer's best hour
HOURS = 24
PRIOR_OPENS = 4  # the shop's habits weigh as much as this many opens of the customer's own
NO_HISTORY = time(10, 0)  # before the shop has any open: mid-morning, where most mail is read


def open_hour(opened_at: datetime, timezone: str) -> int:
    return opened_at.astimezone(ZoneInfo(timezone)).hour


def counted(hours: Sequence[int], hour: int) -> list[int]:
    """The counts with one more open at `hour` (a profile without any yet has none)."""
    counts = list(hours) or [0] * HOURS
    counts[hour] += 1
    return counts


def best_time(own: Sequence[int], shop: Sequence[int], allowed: Callable[[time], bool]) -> time:
    """The start of the customer's best allowed hour; ties go to the hour nearest NO_HISTORY."""
    shop_total = sum(shop)
    prior = [PRIOR_OPENS * count / shop_total for count in shop] if shop_total else [0.0] * HOURS
    raw = [(own[hour] if own else 0) + prior[hour] for hour in range(HOURS)]
    smoothed = [
        0.25 * raw[hour - 1] + 0.5 * raw[hour] + 0.25 * raw[(hour + 1) % HOURS] for hour in range(HOURS)
    ]
    candidates = [hour for hour in range(HOURS) if allowed(time(hour))] or list(range(HOURS))
    chosen = max(candidates, key=lambda hour: (smoothed[hour], -abs(hour - NO_HISTORY.hour)))
    return time(chosen)


def outside_quiet_hours(policy: ContactPolicy, spread: timedelta) -> Callable[[time], bool]:
    """Whether a wait ending at a time of day, spread over `spread`, ends outside quiet hours."""
    day = date(2000, 1, 3)  # any day: quiet hours are a time of day

    def allowed(at: time) -> bool:
        start = datetime.combine(day, at)
        return not policy.is_quiet(start) and not policy.is_quiet(start + spread)

    return allowed


@dataclass(frozen=True)
class SendTimes:
    """What a best_hour needs beside the customer's counts: the policy's quiet hours and the
    shop's counts, read only when a wait asks for a best hour."""

    policy: ContactPolicy
    shop_hours: Callable[[], Sequence[int]]

    def best(self, own: Sequence[int], spread: timedelta) -> time:
        return best_time(own, self.shop_hours(), outside_quiet_hours(self.policy, spread))
