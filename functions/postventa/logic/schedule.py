"""When a wait_until step ends: a local time of day, a date from the data, in the customer's timezone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from postventa.journeys.model import WaitUntilAction
from postventa.logic.conditions import resolve
from postventa.logic.send_time import BEST_HOUR, SendTimes
from postventa.logic.spread import spread

DEFAULT_LOCAL_TIME = time(9, 0)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`; a time skipped by a daylight-saving jump moves forward by the jump."""
    moment = datetime.combine(day, at, tzinfo=zone)
    round_trip = moment.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        moment = round_trip  # did not exist: e.g. 02:30 on the spring-forward night becomes 03:30
    return moment


def next_local_time(now: datetime, zone: ZoneInfo, at: time) -> datetime:
    """The next `at` in `zone` strictly after `now`, as UTC."""
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        candidate = _local(day, at, zone)
        if candidate > now:
            return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a local time recurs within two days")


def _anniversary(base: date, year: int) -> date:
    try:
        return base.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def wait_until(
    now: datetime,
    zone: ZoneInfo,
    *,
    at: time | None,
    base: datetime | date | None = None,
    offset: timedelta = timedelta(0),
    yearly: bool = False,
) -> datetime:
    """UTC end of a wait. With a base date: that date (+ offset, or its next anniversary when yearly) at
    `at` local time (09:00 when unset, or the base's own time when it has one); never before `now`."""
    if base is None:
        return next_local_time(now, zone, at or DEFAULT_LOCAL_TIME)
    if isinstance(base, datetime):
        target = (base + offset).astimezone(zone)
        day, clock = target.date(), at or target.timetz().replace(tzinfo=None)
    else:
        day, clock = base + offset, at or DEFAULT_LOCAL_TIME
    if yearly:
        local_today = now.astimezone(zone).date()
        day = _anniversary(day, local_today.year)
        if _local(day, clock, zone) <= now:
            day = _anniversary(day, local_today.year + 1)
    return max(_local(day, clock, zone).astimezone(UTC), now)


def end_of_wait(
    action: WaitUntilAction,
    context: Mapping[str, Any],
    now: datetime,
    default_timezone: str,
    send_times: SendTimes,
) -> datetime:
    """A wait_until step's end for the facts at hand (see logic/facts.py), as UTC. An end at a
    time of day (`at`, or 09:00 for a date) is spread over `action.spread` (logic/spread.py).
    send_times: where `at: best_hour` finds the customer's best time of day."""
    customer = context.get("customer", {})
    zone = ZoneInfo(customer.get("timezone") or default_timezone)
    base = resolve(context, action.date_field) if action.date_field else None
    if isinstance(base, str):
        base = datetime.fromisoformat(base) if "T" in base else date.fromisoformat(base)
    elif not isinstance(base, date):
        base = None  # the profile or order has no such date: wait for the local time only
    end = wait_until(
        now,
        zone,
        at=_time_of_day(action, customer, send_times),
        base=base,
        offset=action.offset,
        yearly=action.yearly,
    )
    at_time_of_day = action.at is not None or not isinstance(base, datetime)
    if at_time_of_day and end > now:  # a date already past ends the wait at once, unspread
        end = spread(end, action.spread, customer.get("customer_id", ""))
    return end


def _time_of_day(action: WaitUntilAction, customer: Mapping[str, Any], send_times: SendTimes) -> time | None:
    if action.at == BEST_HOUR:
        return send_times.best(customer.get("open_hours") or [], action.spread)
    return time.fromisoformat(action.at) if action.at else None


def timestamp(moment: datetime) -> str:
    """As Step Functions' TimestampPath wants it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
