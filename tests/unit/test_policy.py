"""The contact policy, rule by rule: what it allows, holds (until when) or drops, and why."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from postventa.journeys.model import Purpose
from postventa.logic.policy import Candidate, Verdict, forget, judge, record
from postventa.models.policy import ContactPolicy
from postventa.models.records import ContactLedger, HeldMessage, SentContact

# 1 marketing a day, 3 a week, quiet 21:00-09:00, 4 h gap; releases exactly at 09:00 (the spread
# of releases over the half hour after is tested on its own below)
POLICY = ContactPolicy(release_spread=timedelta(0))
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def candidate(purpose=Purpose.MARKETING, priority=50, timezone="UTC", message="m-new") -> Candidate:
    return Candidate(message_id=message, journey="j", purpose=purpose, priority=priority, timezone=timezone)


def ledger(*sent: tuple[str, datetime], held: list[HeldMessage] = ()) -> ContactLedger:
    return ContactLedger(
        customer_id="c1",
        sent=[SentContact(message_id=f"m{i}", purpose=p, at=at) for i, (p, at) in enumerate(sent)],
        held=list(held),
    )


def test_a_first_marketing_message_at_noon_goes():
    assert judge(candidate(), NOON, ledger(), [], POLICY) == Verdict(True)


def test_the_daily_cap_drops_a_second_promotion_but_not_a_receipt():
    yesterday_evening = ledger(("marketing", NOON - timedelta(hours=20)))
    assert judge(candidate(), NOON, yesterday_evening, [], POLICY) == Verdict(
        False, reason="frequency cap: 1 marketing a day", rule="frequency_cap"
    )
    assert judge(candidate(Purpose.TRANSACTIONAL), NOON, yesterday_evening, [], POLICY).send
    # 24 h later the window has moved on
    assert judge(candidate(), NOON + timedelta(hours=4), yesterday_evening, [], POLICY).send


def test_the_weekly_cap_counts_promotions_from_all_journeys_and_channels():
    three = ledger(*[("marketing", NOON - timedelta(days=d)) for d in (2, 4, 6)])
    assert judge(candidate(), NOON, three, [], POLICY).reason == "frequency cap: 3 marketing a week"
    receipts = ledger(*[("transactional", NOON - timedelta(days=d)) for d in (2, 4, 6)])
    assert judge(candidate(), NOON, receipts, [], POLICY).send


@pytest.mark.parametrize(
    ("timezone", "utc", "until"),
    [
        (
            "America/Chicago",
            datetime(2026, 3, 10, 5, 0, tzinfo=UTC),
            datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
        ),  # 23:00 local
        (
            "Europe/Madrid",
            datetime(2026, 3, 10, 7, 30, tzinfo=UTC),
            datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        ),  # 08:30 local
        (
            "Asia/Kolkata",
            datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
            datetime(2026, 3, 11, 3, 30, tzinfo=UTC),
        ),  # 21:30 local
    ],
)
def test_quiet_hours_hold_marketing_until_9_local_never_drop_it(timezone, utc, until):
    verdict = judge(candidate(timezone=timezone), utc, ledger(), [], POLICY)
    assert verdict == Verdict(
        False, until=until, reason="quiet hours (21:00-09:00 local)", rule="quiet_hours"
    )
    assert judge(candidate(Purpose.TRANSACTIONAL, timezone=timezone), utc, ledger(), [], POLICY).send


def test_quiet_hours_across_a_daylight_saving_change_end_at_9_local():
    # New York springs forward on 2026-03-08: 23:00 EST on the 7th, 09:00 EDT on the 8th.
    verdict = judge(
        candidate(timezone="America/New_York"), datetime(2026, 3, 8, 4, 0, tzinfo=UTC), ledger(), [], POLICY
    )
    assert verdict.until == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_transactional_messages_can_be_made_to_respect_quiet_hours_too():
    strict = ContactPolicy(quiet_hours_for_transactional=True, release_spread=timedelta(0))
    night = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert judge(candidate(Purpose.TRANSACTIONAL), night, ledger(), [], strict).until == datetime(
        2026, 3, 11, 9, 0, tzinfo=UTC
    )


def test_a_promotion_waits_out_the_gap_after_any_message():
    receipt_an_hour_ago = ledger(("transactional", NOON - timedelta(hours=1, seconds=0.5)))
    verdict = judge(candidate(), NOON, receipt_an_hour_ago, [], POLICY)
    # held to the next whole second: Step Functions timestamps have none
    assert verdict == Verdict(
        False, until=NOON + timedelta(hours=3), reason="within 4h of the previous message", rule="min_gap"
    )


def test_an_open_support_case_drops_marketing_and_lets_receipts_through():
    assert judge(candidate(), NOON, ledger(), ["case-7"], POLICY) == Verdict(
        False, reason="support case open: no marketing until it is closed", rule="support_case"
    )
    assert judge(candidate(Purpose.TRANSACTIONAL), NOON, ledger(), ["case-7"], POLICY).send


def test_when_held_messages_collide_the_higher_priority_goes_first():
    nine = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    birthday = HeldMessage(
        message_id="m-birthday",
        journey="birthday",
        priority=80,
        due=nine,
        first_due=nine,
        reason="quiet hours",
    )
    waiting = ledger(held=[birthday])
    verdict = judge(candidate(priority=40), nine, waiting, [], POLICY)
    assert verdict == Verdict(
        False, until=nine + timedelta(minutes=15), reason="birthday goes first (priority)", rule="priority"
    )
    assert judge(candidate(priority=90), nine, waiting, [], POLICY).send  # outranks it
    # a held message that never came back keeps its turn only 15 minutes
    assert judge(candidate(priority=40), nine + timedelta(minutes=15), waiting, [], POLICY).send


def test_the_ledger_counts_a_send_keeps_a_hold_and_forgets_a_failed_send():
    promo = candidate()
    sent = record(ledger(), promo, Verdict(True), NOON)
    assert [(s.message_id, s.at) for s in sent.sent] == [("m-new", NOON)] and sent.version == 1
    assert forget(sent, "m-new").sent == []
    held = record(ledger(), promo, Verdict(False, until=NOON + timedelta(hours=2), reason="quiet"), NOON)
    again = record(
        held, promo, Verdict(False, until=NOON + timedelta(hours=4), reason="gap"), NOON + timedelta(hours=2)
    )
    (hold,) = again.held
    assert (hold.first_due, hold.due, hold.reason) == (NOON, NOON + timedelta(hours=4), "gap")
    week_old = ledger(("marketing", NOON - timedelta(days=8)))
    assert record(week_old, promo, Verdict(True), NOON).sent[0].message_id == "m-new"  # pruned to a week


def test_quiet_hours_within_one_day_also_work():
    lunch = ContactPolicy(quiet_from=time(12, 0), quiet_until=time(14, 0), release_spread=timedelta(0))
    assert judge(candidate(), NOON, ledger(), [], lunch).until == NOON + timedelta(hours=2)
    assert judge(candidate(), NOON + timedelta(hours=2), ledger(), [], lunch).send


def test_a_ceiling_on_all_messages_a_day_stops_a_looping_journey_receipts_included():
    looping = ledger(*[("transactional", NOON - timedelta(hours=h)) for h in range(8)])
    assert judge(candidate(Purpose.TRANSACTIONAL), NOON, looping, [], POLICY) == Verdict(
        False, reason="daily ceiling: 8 messages in 24 h, receipts included", rule="ceiling"
    )
    assert judge(candidate(Purpose.TRANSACTIONAL), NOON + timedelta(hours=17), looping, [], POLICY).send


def test_releases_from_quiet_hours_spread_over_half_an_hour_one_moment_per_customer():
    """A night's backlog leaves in the half hour after 09:00, not in its first second; each
    customer's held messages share one moment, so priority still orders them."""
    from collections import Counter

    night = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    nine = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
    releases = []
    for index in range(1000):
        customer = ContactLedger(customer_id=f"c{index}")
        verdicts = [judge(candidate(message=m), night, customer, [], ContactPolicy()) for m in ("a", "b")]
        assert verdicts[0].until == verdicts[1].until  # one moment for all of a customer's messages
        releases.append(verdicts[0].until)
    assert all(nine <= until < nine + timedelta(minutes=30) for until in releases)
    assert all(until.microsecond == 0 for until in releases)
    # 1,000 customers over 1,800 seconds: a few share a second, none bunch
    assert max(Counter(releases).values()) <= 6 and len(set(releases)) > 500
    assert judge(candidate(), nine + timedelta(minutes=30), ContactLedger(customer_id="c0"), [], POLICY).send
