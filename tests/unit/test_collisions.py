"""The collision check: steps the contact policy mostly drops, and whose sends took their place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postventa.backtest.collisions import find_collisions
from postventa.models.records import MessageRecord, MessageStatus

MORNING = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
DAILY = "frequency cap: 1 marketing a day"
WEEKLY = "frequency cap: 3 marketing a week"


def message(
    customer: str,
    journey: str,
    step: str,
    at: datetime,
    *,
    reason: str | None = None,
    purpose: str = "marketing",
) -> MessageRecord:
    return MessageRecord(
        message_id=f"{customer}-{journey}-{step}",
        customer_id=customer,
        journey=journey,
        version=1,
        step=step,
        execution_id=f"{customer}-{journey}",
        channel="email",
        template=step,
        purpose=purpose,
        status=MessageStatus.SUPPRESSED if reason else MessageStatus.SENT,
        reason=reason,
        at=at,
        sent_at=None if reason else at,
    )


def test_a_step_mostly_dropped_names_the_rule_and_the_journeys_that_took_its_place():
    messages = []
    for n in range(12):
        customer = f"c{n}"
        messages.append(message(customer, "post-purchase", "nps_survey", MORNING - timedelta(hours=20)))
        if n < 9:  # nine of twelve referrals come within 24 h of the survey
            messages.append(message(customer, "nps-promoter", "referral_request", MORNING, reason=DAILY))
        else:
            messages.append(
                message(customer, "nps-promoter", "referral_request", MORNING + timedelta(days=1))
            )
    messages.append(message("c0", "welcome", "welcome", MORNING - timedelta(days=3)))  # outside the day
    [collision] = find_collisions(messages)
    assert collision.describe() == (
        "nps-promoter, step referral_request: 9 of 12 messages (75%) dropped by the contact policy "
        "(frequency cap: 1 marketing a day 9); their place taken by post-purchase 9"
    )


def test_the_weekly_cap_looks_back_a_week_and_only_at_marketing():
    messages = [message(f"c{n}", "win-back", "we_miss_you", MORNING, reason=WEEKLY) for n in range(10)]
    messages += [message(f"c{n}", "cross-sell", "cross_sell", MORNING - timedelta(days=6)) for n in range(10)]
    messages += [
        message(
            f"c{n}",
            "post-purchase",
            "order_confirmation",
            MORNING - timedelta(days=1),
            purpose="transactional",
        )
        for n in range(10)
    ]
    [collision] = find_collisions(messages)
    assert collision.taken_by == {"cross-sell": 10}


def test_drops_for_other_reasons_and_steps_too_small_to_judge_are_not_collisions():
    consent = [
        message(f"c{n}", "welcome", "welcome", MORNING, reason="not subscribed to email marketing")
        for n in range(20)
    ]
    few = [message(f"c{n}", "birthday", "birthday_greeting", MORNING, reason=DAILY) for n in range(9)]
    assert find_collisions([*consent, *few]) == []
    half = [
        message(f"c{n}", "cross-sell", "cross_sell", MORNING, reason=DAILY if n % 2 else None)
        for n in range(20)
    ]
    assert find_collisions(half) == []  # dropped half: not mostly
