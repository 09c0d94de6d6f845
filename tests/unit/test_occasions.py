"""Occasions on the customer's own calendar: when they fire, which calendar days are looked up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from postventa.logic.occasions import RUN_EVERY, calendar_keys, firing_slot, keys_to_look_up, occasions_due
from postventa.models.records import CustomerProfile

T = datetime(2026, 5, 17, 12, 0, tzinfo=UTC)


def profile(**fields) -> CustomerProfile:
    return CustomerProfile(customer_id="c1", updated_at=T, **fields)


SLOT = timedelta(minutes=firing_slot("c1").minute)  # c1's five minutes of the firing hour


def due(hour, customer, days=(90,)):
    """What the run in c1's slot of that hour (UTC, on the hour) finds due."""
    found = occasions_due(hour + SLOT, customer, "UTC", days)
    return [(o.occasion.value, o.occasion_id, o.days) for o in found]


def runs_firing(customer, day: datetime) -> list[datetime]:
    """The five-minute runs of a day and a half around `day` that find something due."""
    runs = [day - timedelta(hours=12) + RUN_EVERY * n for n in range(36 * 12)]
    return [run for run in runs if occasions_due(run, customer, "UTC", (90,))]


def test_a_birthday_fires_in_one_run_of_the_9am_local_hour_its_own_five_minutes():
    ana = profile(birthday=date(1990, 5, 17), timezone="Europe/Madrid")
    assert firing_slot("c1") == time(9, 45)
    assert runs_firing(ana, datetime(2026, 5, 17, tzinfo=UTC)) == [datetime(2026, 5, 17, 7, 45, tzinfo=UTC)]
    assert due(datetime(2026, 5, 17, 7, 0, tzinfo=UTC), ana) == [("birthday", "birthday-2026", None)]


def test_half_hour_offsets_get_exactly_one_run():
    india = profile(birthday=date(1990, 5, 17), timezone="Asia/Kolkata")  # UTC+5:30
    assert runs_firing(india, datetime(2026, 5, 17, tzinfo=UTC)) == [datetime(2026, 5, 17, 4, 15, tzinfo=UTC)]


def test_a_days_greetings_are_spread_over_the_hour_in_five_minute_slots():
    slots = Counter(firing_slot(f"customer-{n}") for n in range(12_000))
    assert sorted(slots) == [time(9, minute) for minute in range(0, 60, 5)]
    assert min(slots.values()) > 900 and max(slots.values()) < 1100  # about 1,000 in each


def test_the_local_date_decides_at_both_ends_of_the_earth():
    kiritimati = profile(birthday=date(1990, 5, 17), timezone="Pacific/Kiritimati")  # UTC+14
    pago_pago = profile(birthday=date(1990, 5, 17), timezone="Pacific/Pago_Pago")  # UTC-11
    assert due(datetime(2026, 5, 16, 19, 0, tzinfo=UTC), kiritimati)  # already 09:00 on the 17th
    assert due(datetime(2026, 5, 17, 20, 0, tzinfo=UTC), pago_pago)  # 09:00 on the 17th
    for now in (datetime(2026, 5, 16, 19, 0, tzinfo=UTC), datetime(2026, 5, 17, 20, 0, tzinfo=UTC)):
        assert "birthday#05-17" in keys_to_look_up(now, [90])


def test_29_february_is_celebrated_on_1_march_in_common_years():
    leapling = profile(birthday=date(2000, 2, 29))
    assert due(datetime(2027, 3, 1, 9, 0, tzinfo=UTC), leapling) == [("birthday", "birthday-2027", None)]
    assert due(datetime(2028, 3, 1, 9, 0, tzinfo=UTC), leapling) == []
    assert due(datetime(2028, 2, 29, 9, 0, tzinfo=UTC), leapling) == [("birthday", "birthday-2028", None)]
    assert "birthday#02-29" in keys_to_look_up(datetime(2027, 3, 1, 10, 0, tzinfo=UTC), [])


def test_first_order_anniversary_skips_the_first_year():
    first = datetime(2025, 5, 17, 18, 0, tzinfo=UTC)
    customer = profile(first_order_at=first, last_order_at=first)
    assert due(datetime(2025, 5, 17, 19, 0, tzinfo=UTC), customer) == []
    assert due(T.replace(hour=9), customer) == [
        ("first_order_anniversary", "first_order_anniversary-2026", None)
    ]


def test_inactivity_counts_days_since_the_last_order_in_local_time():
    last = datetime(2026, 2, 16, 23, 30, tzinfo=UTC)  # already 17 February in Madrid
    customer = profile(last_order_at=last, first_order_at=last, timezone="Europe/Madrid")
    at_9_in_madrid = T.replace(hour=7)
    assert due(at_9_in_madrid, customer, days=(60, 89, 90)) == [("inactive", "inactive-89-2026-02-17", 89)]
    assert "last_order#2026-02-17" in calendar_keys(customer, "UTC")
    assert "last_order#2026-02-17" in keys_to_look_up(at_9_in_madrid, [89])


def test_calendar_keys_follow_the_profile():
    customer = profile(birthday=date(1990, 5, 17), first_order_at=T - timedelta(days=400), last_order_at=T)
    assert calendar_keys(customer, "UTC") == {"birthday#05-17", "first_order#04-12", "last_order#2026-05-17"}


def test_each_hourly_run_looks_up_the_local_dates_of_every_clock_in_its_firing_hour_and_no_others():
    """Every timezone, every quarter hour of two days around a DST change: a clock in its firing
    hour has its local date looked up; the run reads one date, two in three hours of the day."""
    from zoneinfo import available_timezones

    from postventa.logic.occasions import FIRE_FROM, FIRE_UNTIL, dates_in_firing_hour

    zones = sorted(available_timezones())
    looked_up_per_hour = []
    start = datetime(2026, 3, 28, tzinfo=UTC)  # Europe moves its clocks on the 29th
    for quarter in range(2 * 24 * 4):
        now = start + timedelta(minutes=15 * quarter)
        dates = dates_in_firing_hour(now)
        locals_now = [now.astimezone(ZoneInfo(zone)) for zone in zones]
        firing = {local.date() for local in locals_now if FIRE_FROM <= local.time() < FIRE_UNTIL}
        assert firing <= dates, now
        looked_up_per_hour.append(len(dates))
    assert max(looked_up_per_hour) == 2 and looked_up_per_hour.count(2) < len(looked_up_per_hour) / 4
