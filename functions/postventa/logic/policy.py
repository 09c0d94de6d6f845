"""The contact policy: one judgement every message goes through before any channel is tried.

Across all journeys and channels of one customer: a ceiling on all messages a day (a journey that
loops is stopped there, with an alarm), marketing frequency caps, quiet hours in the
customer's own timezone, a minimum gap between two messages, priority when journeys collide,
and no marketing while a support case is open. Held messages are deferred, never dropped; a
message over a frequency cap is dropped (a deferred promotion would only queue behind the
next one: journeys that want more than the cap allows would build a backlog that never drains).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from postventa.journeys.model import Purpose
from postventa.logic.spread import spread
from postventa.models.common import format_duration
from postventa.models.policy import ContactPolicy
from postventa.models.records import ContactLedger, HeldMessage, SentContact


@dataclass(frozen=True)
class Verdict:
    """send; or hold until a time (deferred); or drop (neither), with the reason."""

    send: bool
    until: datetime | None = None
    reason: str | None = None
    # ceiling, support_case, frequency_cap, quiet_hours, min_gap, priority, sending_rate
    rule: str | None = None


@dataclass(frozen=True)
class Candidate:
    message_id: str
    journey: str
    purpose: Purpose
    priority: int
    timezone: str


WEEK = timedelta(days=7)
DAY = timedelta(days=1)
CEILING = "daily ceiling"  # the reason's start: run_step raises the CeilingReached alarm on it


def judge(
    candidate: Candidate, now: datetime, ledger: ContactLedger, open_cases: list[str], policy: ContactPolicy
) -> Verdict:
    marketing = candidate.purpose is Purpose.MARKETING
    if marketing and open_cases:
        return Verdict(
            False, reason="support case open: no marketing until it is closed", rule="support_case"
        )
    sent = [s for s in ledger.sent if s.message_id != candidate.message_id]
    if sum(s.at > now - DAY for s in sent) >= policy.messages_per_day:
        return Verdict(
            False,
            reason=f"{CEILING}: {policy.messages_per_day} messages in 24 h, receipts included",
            rule="ceiling",
        )
    if marketing:
        promotions = [s.at for s in sent if s.purpose == Purpose.MARKETING]
        if sum(at > now - DAY for at in promotions) >= policy.marketing_per_day:
            return Verdict(
                False,
                reason=f"frequency cap: {policy.marketing_per_day} marketing a day",
                rule="frequency_cap",
            )
        if sum(at > now - WEEK for at in promotions) >= policy.marketing_per_week:
            return Verdict(
                False,
                reason=f"frequency cap: {policy.marketing_per_week} marketing a week",
                rule="frequency_cap",
            )
    if marketing or policy.quiet_hours_for_transactional:
        local = now.astimezone(ZoneInfo(candidate.timezone))
        if policy.is_quiet(local):
            until = spread(policy.quiet_ends(local), policy.release_spread, ledger.customer_id)
            return _hold(until, f"quiet hours ({policy.describe_quiet_hours()})", "quiet_hours")
    if not marketing:
        return Verdict(True)
    latest = max((s.at for s in sent), default=None)
    if latest is not None and now < latest + policy.min_gap:
        gap = format_duration(policy.min_gap)
        return _hold(latest + policy.min_gap, f"within {gap} of the previous message", "min_gap")
    ahead = [
        held
        for held in ledger.held
        if held.message_id != candidate.message_id
        and held.priority > candidate.priority
        and held.due <= now < held.due + policy.turn
    ]
    if ahead:
        first = min(ahead, key=lambda held: held.due)
        return _hold(first.due + policy.turn, f"{first.journey} goes first (priority)", "priority")
    return Verdict(True)


def _hold(until: datetime, reason: str, rule: str) -> Verdict:
    """Held to the next whole second: Step Functions' timestamps have none, and a wake-up a
    fraction early would only be held again."""
    whole = until.replace(microsecond=0)
    return Verdict(
        False, until=whole if whole == until else whole + timedelta(seconds=1), reason=reason, rule=rule
    )


def record(ledger: ContactLedger, candidate: Candidate, verdict: Verdict, now: datetime) -> ContactLedger:
    """The ledger after a verdict: a send is counted at once (before the provider call, so two
    concurrent sends cannot both pass), a hold keeps the message's turn, a drop leaves no trace."""
    keep_after = now - WEEK
    sent = [s for s in ledger.sent if s.at > keep_after and s.message_id != candidate.message_id]
    held = [h for h in ledger.held if h.message_id != candidate.message_id and h.due > now - DAY]
    if verdict.send:
        sent.append(SentContact(message_id=candidate.message_id, purpose=candidate.purpose, at=now))
    elif verdict.until is not None:
        before = held_before(ledger, candidate.message_id)
        held.append(
            HeldMessage(
                message_id=candidate.message_id,
                journey=candidate.journey,
                priority=candidate.priority,
                due=verdict.until,
                first_due=before.first_due if before else now,
                reason=verdict.reason or "held",
            )
        )
    return ledger.model_copy(update={"sent": sent, "held": held, "version": ledger.version + 1})


def forget(ledger: ContactLedger, message_id: str) -> ContactLedger:
    """A counted send that never happened (throttled, or refused on every channel)."""
    return ledger.model_copy(
        update={
            "sent": [s for s in ledger.sent if s.message_id != message_id],
            "version": ledger.version + 1,
        }
    )


SENDING_RATE = "sending rate"  # a hold's reason when the channel's second was full
IN_TURN = "in turn"  # ... and a share of a second to come was kept for the message
AFTER_TRANSACTIONAL = "after transactional sends"  # ... and it waits for what they leave


def queued_for_rate(channel: str, until: datetime, *, kept: bool) -> Verdict:
    """Held for the channel's sending rate until `until` (see RateLimiter.reserve): kept, a share
    of that second is the message's; otherwise it tries for one then."""
    place = IN_TURN if kept else AFTER_TRANSACTIONAL
    return Verdict(False, until=until, reason=f"{SENDING_RATE}: {channel} {place}", rule="sending_rate")


def rate_reserved(hold: HeldMessage | None, now: datetime) -> bool:
    """The message wakes from a sending-rate hold whose share of the rate was kept for it."""
    return (
        hold is not None
        and hold.reason.startswith(SENDING_RATE)
        and hold.reason.endswith(IN_TURN)
        and now >= hold.due
    )


def held_before(ledger: ContactLedger, message_id: str) -> HeldMessage | None:
    return next((held for held in ledger.held if held.message_id == message_id), None)
