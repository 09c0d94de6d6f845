"""The best hour to send: each customer's opens by local hour, the shop's as the prior, never in
quiet hours; and a wait_until at best_hour ending there in the customer's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from postventa.journeys.model import WaitUntilAction
from postventa.logic.schedule import end_of_wait
from postventa.logic.send_time import (
    NO_HISTORY,
    SendTimes,
    best_time,
    counted,
    open_hour,
    outside_quiet_hours,
)
from postventa.models.policy import ContactPolicy

ANYTIME = lambda at: True  # noqa: E731  # no quiet hours
DEFAULT_POLICY = outside_quiet_hours(ContactPolicy(), timedelta(minutes=30))


def hours(**counts: int) -> list[int]:
    """hours(h19=3) -> 24 counts."""
    listed = [0] * 24
    for name, count in counts.items():
        listed[int(name[1:])] = count
    return listed


def test_an_open_is_counted_at_its_local_hour():
    at = datetime(2026, 7, 1, 17, 40, tzinfo=UTC)
    assert open_hour(at, "Europe/Madrid") == 19 and open_hour(at, "Asia/Tokyo") == 2
    assert counted([], 19) == hours(h19=1)
    assert counted(hours(h19=1), 19) == hours(h19=2)


def test_without_any_open_in_the_shop_the_hour_is_mid_morning():
    assert best_time([], [], ANYTIME) == NO_HISTORY == time(10)


def test_a_customers_own_habit_wins_once_it_outweighs_the_shops():
    shop = hours(h12=100)
    assert best_time([], shop, ANYTIME) == time(12)  # no history of their own: the shop's hour
    assert best_time(hours(h19=1), shop, ANYTIME) == time(12)  # one open is not a habit yet
    assert best_time(hours(h19=5), shop, ANYTIME) == time(19)


def test_neighbouring_hours_count_together():
    # 13 holds as many as 18 or 20 alone; with 19 between them the evening wins
    assert best_time(hours(h13=3, h18=3, h19=1, h20=3), [], ANYTIME) == time(19)


def test_the_best_hour_is_never_in_quiet_hours():
    # a reader at 07:00 under quiet hours until 09:00; one at 21:00 (quiet from 21:00) gets the
    # hour before, which their reading hour's weight reaches
    assert best_time(hours(h7=9, h10=1), [], DEFAULT_POLICY) == time(10)
    assert best_time(hours(h21=9, h15=1), [], DEFAULT_POLICY) == time(20)
    assert not DEFAULT_POLICY(time(20, 45))  # its spread would cross into quiet hours
    assert DEFAULT_POLICY(time(20)) and not DEFAULT_POLICY(time(8))


@pytest.mark.parametrize(("zone", "local_hour"), [("Europe/Madrid", 19), ("America/Chicago", 19), (None, 19)])
def test_a_wait_until_best_hour_ends_at_the_customers_hour_in_their_timezone(zone, local_hour):
    action = WaitUntilAction(at="best_hour", spread=timedelta(0))
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    customer = {"customer_id": "c1", "timezone": zone, "open_hours": hours(h19=6)}
    send_times = SendTimes(ContactPolicy(), lambda: hours(h10=50))
    end = end_of_wait(action, {"customer": customer}, now, "Asia/Tokyo", send_times)
    local = end.astimezone(ZoneInfo(zone or "Asia/Tokyo"))
    assert (local.hour, local.minute) == (local_hour, 0) and end > now
    assert end - now < timedelta(days=1)


def test_the_shops_hours_are_read_only_when_a_wait_asks_for_the_best_hour():
    def unread() -> list[int]:
        raise AssertionError("read without need")

    action = WaitUntilAction(at="10:00")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    end = end_of_wait(action, {"customer": {}}, now, "UTC", SendTimes(ContactPolicy(), unread))
    assert end.date() == now.date() + timedelta(days=1)


def test_best_hour_is_the_only_word_at_takes_besides_a_time():
    with pytest.raises(ValueError, match="String should match pattern"):
        WaitUntilAction(at="best hour")


def test_at_on_a_send_is_the_wait_until_before_it():
    from postventa.journeys.loader import JourneyError, parse_journey
    from postventa.journeys.model import SendStep, WaitUntilStep

    text = """
name: at-their-hour
version: 1
trigger: {event: Order Placed}
steps:
  - id: next_day
    wait: 1d
  - id: tips
    send: {channel: email, template: product_tips, purpose: marketing, at: best_hour}
"""
    journey = parse_journey(text, "at-their-hour.yaml")
    _, wait, send = journey.all_steps()
    assert isinstance(wait, WaitUntilStep) and (wait.id, wait.wait_until.at) == ("tips_at", "best_hour")
    assert isinstance(send, SendStep) and send.id == "tips"
    with pytest.raises(JourneyError, match="String should match pattern"):
        parse_journey(text.replace("at: best_hour", "at: soon"), "at-their-hour.yaml")
