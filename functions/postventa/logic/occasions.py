"""Birthdays, first-order anniversaries and inactivity, each on the customer's own calendar.

The schedule runs every five minutes (RUN_EVERY); a customer's occasions fire in the run that
falls in their own five minutes of the 09:00 hour on their clock (their slot, a stable hash of
who they are), so a day's greetings leave spread over the hour instead of all at 09:00:00 against
the sending rate. Every local five minutes holds exactly one run (offsets of :30 and :45
included), so each occasion is published once; a run that fails is retried by the scheduler for
an hour, then lands in its dead-letter queue (alarmed). The occasion id keeps entry to once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from postventa.journeys.model import Journey
from postventa.logic.spread import fraction
from postventa.models.events import Occasion, OccasionReachedV1
from postventa.models.records import CustomerProfile

FIRE_FROM, FIRE_UNTIL = time(9, 0), time(10, 0)  # local time: nobody is greeted at midnight
RUN_EVERY = timedelta(minutes=5)  # the schedule's period (infra/schedules.py)
_SLOTS = 12  # of RUN_EVERY in the firing hour


def _month_day(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def _zone(profile: CustomerProfile, default_timezone: str) -> ZoneInfo:
    return ZoneInfo(profile.timezone or default_timezone)


def calendar_keys(profile: CustomerProfile, default_timezone: str) -> set[str]:
    """The calendar entries a profile belongs under (stored beside it, so runs look up days, not scans)."""
    zone = _zone(profile, default_timezone)
    keys = set()
    if profile.birthday:
        keys.add(f"birthday#{_month_day(profile.birthday)}")
    if profile.first_order_at:
        keys.add(f"first_order#{_month_day(profile.first_order_at.astimezone(zone).date())}")
    if profile.last_order_at:
        keys.add(f"last_order#{profile.last_order_at.astimezone(zone).date().isoformat()}")
    return keys


def _observed(day: date) -> list[str]:
    """Month-days celebrated on `day`: 29 February falls on 1 March in common years."""
    days = [_month_day(day)]
    if day.month == 3 and day.day == 1 and not _is_leap(day.year):
        days.append("02-29")
    return days


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# The UTC offsets clocks are set to: UTC-12 to UTC+14.
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)


def dates_in_firing_hour(now: datetime) -> set[date]:
    """The local dates on which some clock on Earth is in its firing hour now: one, or two in the
    hours when it is 09:00 both west of UTC-10 and east of UTC+12 (a day apart)."""
    dates = set()
    for day in (now.date() - timedelta(days=1), now.date(), now.date() + timedelta(days=1)):
        # The offsets that put now in that day's firing hour: [from, until), against those in use.
        fire_from = datetime.combine(day, FIRE_FROM, tzinfo=now.tzinfo) - now
        fire_until = datetime.combine(day, FIRE_UNTIL, tzinfo=now.tzinfo) - now
        if fire_from <= LATEST_OFFSET and fire_until > EARLIEST_OFFSET:
            dates.add(day)
    return dates


def keys_to_look_up(now: datetime, inactivity_days: Iterable[int]) -> list[str]:
    """Every calendar entry a customer somewhere on Earth could have due now: only the local dates
    where it is now the firing hour, so most runs read a third of a three-day window."""
    keys: list[str] = []
    for day in sorted(dates_in_firing_hour(now)):
        for month_day in _observed(day):
            keys += [f"birthday#{month_day}", f"first_order#{month_day}"]
        keys += [f"last_order#{(day - timedelta(days=n)).isoformat()}" for n in sorted(set(inactivity_days))]
    return keys


def inactivity_thresholds(journeys: Iterable[Journey]) -> set[int]:
    return {j.trigger.days for j in journeys if j.trigger.occasion is Occasion.INACTIVE and j.trigger.days}


def firing_slot(customer_id: str) -> time:
    """When in the firing hour, local time, the customer's occasions fire: one of its twelve fives."""
    minutes = int(fraction("occasion-slot", customer_id) * _SLOTS) * RUN_EVERY.seconds // 60
    return FIRE_FROM.replace(minute=minutes)


def in_firing_slot(now: datetime, timezone: str | ZoneInfo, customer_id: str) -> bool:
    local = now.astimezone(ZoneInfo(timezone) if isinstance(timezone, str) else timezone)
    start = datetime.combine(local.date(), firing_slot(customer_id), tzinfo=local.tzinfo)
    return start <= local < start + RUN_EVERY


def occasions_due(
    now: datetime, profile: CustomerProfile, default_timezone: str, inactivity_days: Iterable[int]
) -> list[OccasionReachedV1]:
    zone = _zone(profile, default_timezone)
    if not in_firing_slot(now, zone, profile.customer_id):
        return []
    today = now.astimezone(zone).date()

    def occasion(kind: Occasion, occasion_id: str, days: int | None = None) -> OccasionReachedV1:
        return OccasionReachedV1(
            customer_id=profile.customer_id, occasion=kind, occasion_id=occasion_id, reached_at=now, days=days
        )

    due = []
    if profile.birthday and _month_day(profile.birthday) in _observed(today):
        due.append(occasion(Occasion.BIRTHDAY, f"birthday-{today.year}"))
    if profile.first_order_at:
        first = profile.first_order_at.astimezone(zone).date()
        if _month_day(first) in _observed(today) and today.year > first.year:
            due.append(occasion(Occasion.FIRST_ORDER_ANNIVERSARY, f"first_order_anniversary-{today.year}"))
    if profile.last_order_at:
        last = profile.last_order_at.astimezone(zone).date()
        for days in sorted(set(inactivity_days)):
            if (today - last).days == days:
                due.append(occasion(Occasion.INACTIVE, f"inactive-{days}-{last.isoformat()}", days))
    return due


def next_occasion(
    profile: CustomerProfile,
    occasion: Occasion,
    after: datetime,
    default_timezone: str,
    inactivity_days: Iterable[int] = (),
    within: timedelta = timedelta(days=800),
) -> OccasionReachedV1 | None:
    """The first run after `after` that finds this occasion due for the profile, as the schedule
    would (None: not within `within`): the customer's slot on each of their days; for previews,
    which have no schedule running."""
    zone = _zone(profile, default_timezone)
    day = after.astimezone(zone).date()
    while True:
        run = datetime.combine(day, firing_slot(profile.customer_id), tzinfo=zone).astimezone(after.tzinfo)
        if run > after + within:
            return None
        if run > after:
            for due in occasions_due(run, profile, default_timezone, inactivity_days):
                if due.occasion is occasion:
                    return due
        day += timedelta(days=1)
